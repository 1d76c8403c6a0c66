"""Scheduled work of the notifications domain (registered by the scheduler process)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app

from service_app.common.time import utcnow
from service_app.notifications import delivery
from service_app.notifications.delivery import RetryPolicy, SendCounts
from service_app.notifications.push import PushSender

BATCH_SIZE = 100


def retry_policy() -> RetryPolicy:
    config = current_app.config
    return RetryPolicy(
        max_attempts=config["NOTIFICATION_MAX_ATTEMPTS"],
        base_seconds=config["NOTIFICATION_RETRY_BASE_SECONDS"],
        cap_seconds=config["NOTIFICATION_RETRY_MAX_SECONDS"],
    )


def deliver_pending(
    *, senders: dict[str, PushSender], now: datetime | None = None, limit: int = 500, rng: random.Random | None = None
) -> SendCounts:
    """Queue new notices for their readers' devices, then push what is due, at most `limit` of each per run.

    Safe to run twice and on two scheduler replicas at once (see `delivery`).
    """
    now = now or utcnow()
    rng = rng or random.Random()
    queued = 0
    while queued < limit and (batch := delivery.queue_new(now=now, size=min(BATCH_SIZE, limit - queued))):
        queued += batch
    policy, totals = retry_policy(), SendCounts()
    lease = timedelta(seconds=current_app.config["NOTIFICATION_CLAIM_SECONDS"])
    while totals.handled < limit:
        claimed = delivery.claim_due(now=now, size=min(BATCH_SIZE, limit - totals.handled), lease=lease)
        if not claimed:
            break
        outcomes = delivery.push(claimed, senders=senders)
        totals.add(delivery.record(claimed=claimed, outcomes=outcomes, policy=policy, now=now, rng=rng))
    return totals


def deliver(*, senders: dict[str, PushSender], now: datetime | None = None) -> int:
    """The scheduled job: push due deliveries through each provider's sender; rows = pushes sent."""
    return deliver_pending(senders=senders, now=now).sent
