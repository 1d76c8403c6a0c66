"""Ending a unit of work."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from service_app.errors import AppError
from service_app.extensions import db


def commit_or_conflict(conflict: AppError) -> None:
    """Commit; when a constraint stops it (a concurrent writer took the same unique value between our
    check and our commit), roll back and raise `conflict` instead of answering 500."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise conflict from None


def commit_and_keep() -> None:
    """Commit without expiring what the session holds, for a write that answers from the objects it
    has just written (every column of theirs is set in Python or returned by the INSERT): reading
    them back after the commit would only send the same values again, and expiring the caller's
    user row would re-read it too. The session ends with the request, so nothing stale outlives it."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
