"""Reading and pruning the job-run log."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from service_app.common.pagination import Page, keyset_page
from service_app.extensions import db
from service_app.scheduling.models import JobRun


def list_runs(
    *, job: str | None = None, outcome: str | None = None, limit: int | None = None, cursor: str | None = None
) -> Page:
    """Job runs, newest first, optionally of one job and one outcome."""
    query = select(JobRun)
    if job is not None:
        query = query.where(JobRun.job == job)
    if outcome is not None:
        query = query.where(JobRun.outcome == outcome)
    return keyset_page(
        query, columns=[JobRun.id], kinds=[int], limit=limit, cursor=cursor, descending=True, session=db.session
    )


def purge_runs(*, now: datetime) -> int:
    """Delete run rows older than JOB_RUN_RETENTION_DAYS (a 5-minute job writes 105,000 a year)."""
    cutoff = now - timedelta(days=current_app.config["JOB_RUN_RETENTION_DAYS"])
    result = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    db.session.commit()
    return result.rowcount or 0
