"""Notices to users: written in the caller's transaction (outbox), read in the app, delivered by a push sender.

`notify` only adds rows; the caller's commit stores them with the change they announce, so a
notice is never sent for a change that was rolled back, nor lost for one that was committed. A
notice is a kind and its parameters; `messages.render` gives its text in the reader's language.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import false, func, select, update

from service_app.common.pagination import Page, keyset_page
from service_app.common.time import utcnow
from service_app.errors import NotFound
from service_app.extensions import db
from service_app.notifications.messages import KINDS
from service_app.notifications.models import JobWatermark, Notification

log = logging.getLogger(__name__)


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


class PushSender(Protocol):
    """Hands notices to a push service (APNs, a vendor gateway, SMS…). Raise to retry later."""

    def send(self, notice: Notification) -> None: ...


class RecordingSender:
    """The default sender: there is no push gateway, so delivery is only recorded."""

    def send(self, notice: Notification) -> None:
        return None


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


@dataclass
class DeliveryCounts:
    delivered: int = 0
    failed: int = 0
    # Failures that used up the last allowed attempt: these notices will not be tried again.
    abandoned: int = 0
    last_id: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.failed

    def add(self, other: DeliveryCounts) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.abandoned += other.abandoned
        self.last_id = max(self.last_id, other.last_id)


def deliver_batch(*, sender: PushSender, after_id: int, size: int, max_attempts: int, now: datetime) -> DeliveryCounts:
    """Hand up to `size` undelivered notices (ids above `after_id`) to `sender`, in one transaction.

    The rows stay locked until the commit: on PostgreSQL `FOR UPDATE SKIP LOCKED` lets another
    replica take the next rows instead of the same ones; SQLite has no row locks, so the batch
    first takes the database's write lock and a second replica waits its turn. A sender that
    raises fails only its own notice, which is retried by a later run until `max_attempts`.
    """
    _lock_for_writing()
    notices = db.session.scalars(
        select(Notification)
        .where(
            Notification.delivered_at.is_(None),
            Notification.delivery_attempts < max_attempts,
            Notification.id > after_id,
        )
        .order_by(Notification.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    ).all()
    counts = DeliveryCounts(last_id=after_id)
    for notice in notices:
        _deliver_one(sender, notice, counts=counts, max_attempts=max_attempts, now=now)
        counts.last_id = notice.id
    db.session.commit()
    return counts


def _deliver_one(
    sender: PushSender, notice: Notification, *, counts: DeliveryCounts, max_attempts: int, now: datetime
) -> None:
    try:
        sender.send(notice)
    except Exception:  # noqa: BLE001 - any sender failure is this notice's failure alone
        notice.delivery_attempts = (notice.delivery_attempts or 0) + 1
        counts.failed += 1
        given_up = notice.delivery_attempts >= max_attempts
        counts.abandoned += int(given_up)
        log.warning(
            "notification_delivery_abandoned" if given_up else "notification_delivery_failed",
            extra={"notification_id": notice.id, "attempts": notice.delivery_attempts},
            exc_info=True,
        )
    else:
        notice.delivered_at = now
        counts.delivered += 1


def _lock_for_writing() -> None:
    """On SQLite, take the write lock now (a write that matches no row) so batches run one at a time."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = Notification.__table__
        db.session.execute(update(table).where(false()).values(delivery_attempts=table.c.delivery_attempts))
