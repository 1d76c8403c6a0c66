"""In-app notices, written in the same transaction as the change they announce (an outbox).

A notice is its kind and parameters; its text is rendered when read (`messages.py`), in the
reader's language. The scheduled jobs that notify keep where they stand in two small tables, so
that a job tells only what changed since its previous run (`jobs.py` of each domain).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    # Outbox: set once the notice is queued for each of its reader's devices (`Delivery` rows).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


DELIVERY_STATES = ("pending", "sent", "failed", "skipped")


class Delivery(db.Model):
    """The push of one notice to one device, retried with growing delays until `sent` or `failed`.

    A reader with no active device gets one `skipped` row with no device, so every queued notice
    leaves a trace. Removing the device removes its rows: a phone that logged out is not pushed to.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "device_id", name="uq_notification_deliveries_notice_device"),
        Index("ix_notification_deliveries_state_due", "state", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notification = relationship("Notification", lazy="raise")
    device = relationship("Device", lazy="raise")
