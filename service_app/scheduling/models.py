"""The scheduler's own tables: one row per job run, and (SQLite only) one lock row per running job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service_app.common.types import UTCDateTime
from service_app.extensions import db

OUTCOMES = ("ok", "failed", "skipped")


class JobRun(db.Model):
    """One tick of one job: when it ran, how it ended and how many rows it changed."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'failed', 'skipped')", name="outcome_valid"),
        Index("ix_job_runs_job_id", "job", "id"),
        Index("ix_job_runs_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(8))
    rows_affected: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # host:pid of the scheduler replica that ran (or skipped) the tick.
    runner: Mapped[str | None] = mapped_column(String(128))


class JobLock(db.Model):
    """SQLite's stand-in for an advisory lock: a row per running job, with an expiry.

    A holder that crashed leaves its row behind; once `expires_at` has passed the next tick takes
    the lock over instead of waiting for ever. PostgreSQL uses `pg_try_advisory_lock` instead.
    """

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
