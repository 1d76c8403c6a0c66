"""Statistics jobs, run by the scheduler process (see service_app/scheduler.py)."""

from __future__ import annotations

from datetime import datetime

from service_app.stats import service


def refresh_snapshot(*, now: datetime) -> int:
    """Every 5 minutes: the zone summary, every breakdown row and the common problems."""
    return service.write_current_snapshot(now=now)


def refresh_trends(*, now: datetime) -> int:
    """Daily after midnight (Asia/Shanghai): the day, week and month trend points."""
    return service.write_trend_snapshot(now=now)
