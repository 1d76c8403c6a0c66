"""In-app notices, written in the same transaction as the change they announce (an outbox).

A notice is its kind and parameters; its text is rendered when read (`messages.py`), in the
reader's language. The scheduled jobs that notify keep where they stand in two small tables, so
that a job tells only what changed since its previous run (`jobs.py` of each domain).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index("ix_notifications_delivered_at_id", "delivered_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Outbox: set once the push sender has handed the notice on.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)


class JobWatermark(db.Model):
    """The time a notifying job last ran to: its next run tells only what changed after it.

    No row: the job has never run, and its first run records where it stands and tells nobody.
    """

    __tablename__ = "job_watermarks"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)


class ProblemMark(db.Model):
    """A problem deadline a job has already told about (kind `due_soon` or `overdue`): told once per
    `due_at` value, so a new deadline (an extension) is told again and nothing else is."""

    __tablename__ = "problem_marks"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
