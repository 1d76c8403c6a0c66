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
