"""Scheduled work of the notifications domain (registered by the scheduler process)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from service_app.common.time import utcnow
from service_app.notifications import service
from service_app.notifications.service import DeliveryCounts, PushSender

BATCH_SIZE = 100


def deliver_pending(*, sender: PushSender, limit: int = 500, now: datetime | None = None) -> DeliveryCounts:
    """Push undelivered notices, oldest first, in batches of BATCH_SIZE, at most `limit` per run.

    Safe to run twice and on two scheduler replicas at once: each batch locks its rows (see
    `service.deliver_batch`), a delivered notice is never picked again, and a notice that failed
    in this run waits for the next run (the id cursor only moves forward).
    """
    now = now or utcnow()
    max_attempts = current_app.config["NOTIFICATION_MAX_ATTEMPTS"]
    totals = DeliveryCounts()
    while totals.handled < limit:
        batch = service.deliver_batch(
            sender=sender,
            after_id=totals.last_id,
            size=min(BATCH_SIZE, limit - totals.handled),
            max_attempts=max_attempts,
            now=now,
        )
        if batch.handled == 0:
            break
        totals.add(batch)
    return totals


def deliver(*, now: datetime | None = None) -> int:
    """The scheduled job: push pending notices through the configured PUSH_SENDER; rows = delivered."""
    from service_app.notifications.senders import current_sender

    return deliver_pending(sender=current_sender(), now=now).delivered
