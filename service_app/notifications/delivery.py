"""Pushing notices to devices, from the outbox, in the scheduler process.

`queue_new` turns each new notice into one `Delivery` per active device of its reader (or one
`skipped` row when there is none); `claim_due` takes the deliveries that are due, `push` hands them
to their provider's sender outside any transaction, and `record` stores the outcomes. A failure
that may pass (rate limit, 5xx, no answer) is retried after a delay that doubles with each attempt,
with jitter so that many failures do not retry in step; after NOTIFICATION_MAX_ATTEMPTS, or at once
for a final refusal, the delivery is `failed` and admins see it. An "invalid token" answer
deactivates the device at once.

Two scheduler replicas may run this together: on PostgreSQL the rows are claimed `FOR UPDATE SKIP
LOCKED`, so each replica claims other rows; SQLite has no row locks, so a claim first takes the
database's write lock and the other replica waits its turn. A claimed row is not due again until its
lease ends, so it is pushed once; no lock is held while a provider answers.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, insert, select, update
from sqlalchemy.orm import joinedload

from service_app.auth.models import Device
from service_app.common.pagination import Page, keyset_page
from service_app.extensions import db
from service_app.notifications.messages import render
from service_app.notifications.models import Delivery, Notification
from service_app.notifications.push import InvalidToken, PushError, PushMessage, PushSender, RetryLater

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait after `attempts` failures: base·2^(attempts-1), capped, the upper half of it jittered.

        Each delay is at least the largest the previous one could be, so delays grow whatever the jitter.
        """
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        return timedelta(seconds=ceiling / 2 + rng.random() * ceiling / 2)


@dataclass
class SendCounts:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped

    def add(self, other: SendCounts) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped


def queue_new(*, now: datetime, size: int) -> int:
    """Queue up to `size` new notices for their readers' active devices; returns how many notices."""
    _lock_for_writing()
    notices = db.session.scalars(
        select(Notification)
        .where(Notification.delivered_at.is_(None))
        .order_by(Notification.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    ).all()
    if not notices:
        return 0
    devices: dict[int, list[int]] = defaultdict(list)
    for device_id, user_id in db.session.execute(
        select(Device.id, Device.user_id).where(Device.user_id.in_({n.user_id for n in notices}), Device.is_active)
    ):
        devices[user_id].append(device_id)
    rows = []
    for notice in notices:
        notice.delivered_at = now
        for device_id in devices[notice.user_id]:
            rows.append(dict(notification_id=notice.id, device_id=device_id, state="pending", next_attempt_at=now))
        if not devices[notice.user_id]:
            rows.append(dict(notification_id=notice.id, device_id=None, state="skipped", finished_at=now,
                             last_error="no active device"))
    db.session.execute(insert(Delivery).values(created_at=now), rows)
    db.session.commit()
    return len(notices)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for pushing; `message` None: not to be pushed (device off, or now another user's)."""

    delivery_id: int
    provider: str
    message: PushMessage | None


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    error: Exception | None  # None: pushed


def claim_due(*, now: datetime, size: int, lease: timedelta) -> list[Claimed]:
    """Take up to `size` deliveries due by `now`, oldest due first: they are not due again for `lease`.

    A short transaction of its own, so no lock is held while the provider answers; if this process
    dies before recording the outcome, the delivery is due again when the lease ends (at least once).
    """
    _lock_for_writing()
    rows = db.session.execute(
        select(Delivery, Notification, Device)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(Device, Device.id == Delivery.device_id)
        .where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(size)
        .with_for_update(of=Delivery, skip_locked=True)
    ).all()
    claimed = []
    for delivery, notice, device in rows:
        delivery.next_attempt_at = now + lease
        usable = device.is_active and device.user_id == notice.user_id
        claimed.append(Claimed(delivery.id, device.provider, _message(notice, device) if usable else None))
    db.session.commit()
    return claimed


def push(claimed: list[Claimed], *, senders: dict[str, PushSender]) -> list[Outcome]:
    """Hand each claimed message to its provider's sender (no database work)."""
    outcomes = []
    for item in claimed:
        if item.message is None:
            continue
        try:
            senders[item.provider].send(item.message)
        except PushError as error:
            outcomes.append(Outcome(item, error))
        except Exception as error:  # noqa: BLE001 - a sender's own fault fails this push alone, retried
            log.exception("push_sender_error", extra={"delivery_id": item.delivery_id})
            outcomes.append(Outcome(item, RetryLater(f"{type(error).__name__}: {error}")))
        else:
            outcomes.append(Outcome(item, None))
    return outcomes


def record(
    *, claimed: list[Claimed], outcomes: list[Outcome], policy: RetryPolicy, now: datetime, rng: random.Random
) -> SendCounts:
    """Store what the pushes of `claimed` came to: sent, retried later, failed, or skipped."""
    ids = [item.delivery_id for item in claimed]
    rows = {
        delivery.id: (delivery, device)
        for delivery, device in db.session.execute(
            select(Delivery, Device).join(Device, Device.id == Delivery.device_id).where(Delivery.id.in_(ids))
        )
    }  # a device removed meanwhile (logout) took its deliveries with it
    counts = SendCounts()
    pushed = {outcome.claimed.delivery_id for outcome in outcomes}
    for item in claimed:
        if item.delivery_id in rows and item.delivery_id not in pushed:
            _finish(rows[item.delivery_id][0], "skipped", now=now, error="device inactive or now another user's")
            counts.skipped += 1
    for outcome in outcomes:
        if outcome.claimed.delivery_id in rows:
            delivery, device = rows[outcome.claimed.delivery_id]
            _record_one(delivery, device, outcome.error, policy=policy, now=now, rng=rng, counts=counts)
    db.session.commit()
    return counts


def list_failed(*, limit: int | None, cursor: str | None) -> Page:
    """Deliveries that were given up, newest first, with their notice and device."""
    query = (
        select(Delivery)
        .where(Delivery.state == "failed")
        .options(joinedload(Delivery.notification), joinedload(Delivery.device))
    )
    return keyset_page(query, columns=[Delivery.id], kinds=[int], limit=limit, cursor=cursor, session=db.session)


def push_text(notice: Notification, locale: str | None) -> tuple[str, str]:
    """The notice's title and body for a device: English for an `en…` locale, Chinese otherwise."""
    lang = "en" if (locale or "").lower().startswith("en") else "zh"
    return render(notice.kind, notice.params, lang=lang)


def _message(notice: Notification, device: Device) -> PushMessage:
    title, body = push_text(notice, device.locale)
    data = {
        "notification_id": notice.id, "kind": notice.kind, "problem_id": notice.problem_id, "visit_id": notice.visit_id
    }
    return PushMessage(token=device.token, platform=device.platform, title=title, body=body, data=data)


def _record_one(
    delivery: Delivery,
    device: Device,
    error: Exception | None,
    *,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
    counts: SendCounts,
) -> None:
    delivery.attempts += 1
    if error is None:
        _finish(delivery, "sent", now=now, error=None)
        counts.sent += 1
    elif isinstance(error, InvalidToken):
        device.is_active, device.deactivated_at = False, now
        _finish(delivery, "failed", now=now, error=str(error))
        counts.failed += 1
    elif isinstance(error, RetryLater):
        _retry_or_fail(delivery, error, policy=policy, now=now, rng=rng, counts=counts)
    else:
        _finish(delivery, "failed", now=now, error=str(error))
        counts.failed += 1
    log.info(
        "push_delivery", extra={"delivery_id": delivery.id, "state": delivery.state, "attempts": delivery.attempts}
    )


def _retry_or_fail(
    delivery: Delivery, error: RetryLater, *, policy: RetryPolicy, now: datetime, rng: random.Random, counts: SendCounts
) -> None:
    if delivery.attempts >= policy.max_attempts:
        _finish(delivery, "failed", now=now, error=str(error))
        counts.failed += 1
    else:
        delivery.next_attempt_at = now + policy.delay(delivery.attempts, rng)
        delivery.last_error = str(error)[:255]
        counts.retried += 1


def _finish(delivery: Delivery, state: str, *, now: datetime, error: str | None) -> None:
    delivery.state, delivery.finished_at, delivery.next_attempt_at = state, now, None
    delivery.last_error = error[:255] if error else None


def _lock_for_writing() -> None:
    """On SQLite, take the write lock now (a write that matches no row) so batches run one at a time."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = Delivery.__table__
        db.session.execute(update(table).where(false()).values(attempts=table.c.attempts))
