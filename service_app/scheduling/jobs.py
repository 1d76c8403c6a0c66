"""Housekeeping job: expired login sessions and SMS codes, idempotency keys and old job-run rows."""

from __future__ import annotations

from datetime import datetime

from service_app.auth.service import purge_expired_sessions
from service_app.auth.sms import purge_expired_codes
from service_app.common.idempotency import purge_expired as purge_idempotency_keys
from service_app.scheduling import service


def purge(*, now: datetime) -> int:
    """Delete what has outlived its use; each step commits its own deletion."""
    return (
        purge_expired_sessions(now=now)
        + purge_expired_codes(now=now)
        + purge_idempotency_keys(now=now)
        + service.purge_runs(now=now)
    )
