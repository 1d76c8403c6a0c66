"""Notices to users: written in the caller's transaction (outbox), read in the app, pushed by `delivery`.

`notify` only adds rows; the caller's commit stores them with the change they announce, so a
notice is never sent for a change that was rolled back, nor lost for one that was committed. A
notice is a kind and its parameters; `messages.render` gives its text in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from service_app.common.pagination import Page, keyset_page
from service_app.common.time import utcnow
from service_app.errors import NotFound
from service_app.extensions import db
from service_app.notifications.messages import KINDS
from service_app.notifications.models import JobWatermark, Notification


def notify(
    user_ids: Iterable[int],
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    problem_id: int | None = None,
    visit_id: int | None = None,
) -> list[Notification]:
    """Queue one notice per user (deduplicated, order kept); flushes nothing, commits nothing."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notices = []
    for user_id in dict.fromkeys(uid for uid in user_ids if uid is not None):
        notice = Notification(
            user_id=user_id, kind=kind, params=dict(params or {}), problem_id=problem_id, visit_id=visit_id
        )
        db.session.add(notice)
        notices.append(notice)
    return notices


def advance_watermark(job: str, *, now: datetime) -> datetime | None:
    """Where `job` stood after its previous run (None: this is its first run); moves it to `now`.

    Part of the job's own transaction, so the mark moves exactly when the job's notices are stored.
    """
    mark = db.session.get(JobWatermark, job, with_for_update=True)
    if mark is None:
        db.session.add(JobWatermark(job=job, as_of=now))
        return None
    previous = mark.as_of
    mark.as_of = max(previous, now)
    return previous


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def list_for(user_id: int, *, unread: bool | None, limit: int | None, cursor: str | None) -> tuple[Page, int]:
    """A page of the user's own notices, newest first, and how many are unread in all."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread is not None:
        query = query.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    page = keyset_page(
        query, columns=[Notification.id], kinds=[int], limit=limit, cursor=cursor, descending=True, session=db.session
    )
    return page, unread_count(user_id)


def mark_read(user_id: int, notification_id: int, *, now: datetime | None = None) -> tuple[Notification, int]:
    """Mark one of the user's notices read; reading it again keeps the first time. Others' notices: 404."""
    # Conditional update: concurrent reads of one notice cannot overwrite each other's time.
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    notice = db.session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    if notice is None:
        raise NotFound()
    db.session.commit()
    return notice, unread_count(user_id)


def mark_all_read(user_id: int, *, up_to_id: int | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Mark the user's unread notices read (only up to `up_to_id`, the newest one the client showed).

    Returns how many were marked and how many stay unread.
    """
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if up_to_id is not None:
        query = query.where(Notification.id <= up_to_id)
    result = db.session.execute(query.values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0, unread_count(user_id)
