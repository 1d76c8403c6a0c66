"""Problems (问题/诉求), their timeline and ratings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db

STATUSES = (
    "submitted", "accepted", "rejected", "dispatched", "in_progress", "awaiting_info", "resolved", "closed", "withdrawn"
)
STATUS_LABELS = {
    "submitted": "待受理",
    "accepted": "已受理",
    "rejected": "不予受理",
    "dispatched": "已派单",
    "in_progress": "办理中",
    "awaiting_info": "待补充",
    "resolved": "已办结",
    "closed": "已关闭",
    "withdrawn": "已撤回",
}
STATUS_LABELS_EN = {
    "submitted": "Submitted",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "dispatched": "Dispatched",
    "in_progress": "In progress",
    "awaiting_info": "Awaiting information",
    "resolved": "Resolved",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}
# Open: not finished. Timed: open with the resolution clock running (awaiting_info is paused, never overdue).
OPEN_STATUSES = ("submitted", "accepted", "dispatched", "in_progress", "awaiting_info")
TIMED_STATUSES = ("submitted", "accepted", "dispatched", "in_progress")
RESOLVED_STATUSES = ("resolved", "closed")
# The predicate of the partial index on timed problems; a query matches it by listing the same
# statuses as literals (sla.overdue_clause does).
OPEN_PREDICATE = text("status IN (" + ", ".join(f"'{status}'" for status in TIMED_STATUSES) + ")")
# Withdrawn problems count in no statistic (DESIGN §15).
COUNTED = text("status != 'withdrawn'")
RETURN_REASONS = {
    "wrong_department": "职能不符",
    "wrong_area": "属地不符",
    "insufficient_info": "信息不全",
    "other": "其他",
}


class Problem(db.Model):
    """问题: what an enterprise reports; the ticket. Only problems/workflow.py changes `status`."""

    __tablename__ = "problems"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'accepted', 'rejected', 'dispatched', 'in_progress', 'awaiting_info', "
            "'resolved', 'closed', 'withdrawn')",
            name="status_valid",
        ),
        CheckConstraint("reopen_count >= 0", name="reopen_count_non_negative"),
        Index("ix_problems_enterprise_id_id", "enterprise_id", "id"),
        Index("ix_problems_cadre_id_id", "cadre_id", "id"),
        Index("ix_problems_department_id_id", "department_id", "id"),
        Index("ix_problems_status_id", "status", "id"),
        Index("ix_problems_category_id_id", "category_id", "id"),
        Index("ix_problems_updated_at_id", "updated_at", "id"),
        Index("ix_problems_status_due_at", "status", "due_at"),
        # The cadre scope ORs the linked enterprises with `handler_id`: both sides need an index.
        Index("ix_problems_handler_id_id", "handler_id", "id"),
        # Open problems are few whatever the history: `overdue=true` (and any filter on open states)
        # walks them newest first and checks due_at in the index, instead of skipping closed rows.
        Index(
            "ix_problems_open_id_due_at", "id", "due_at", postgresql_where=OPEN_PREDICATE, sqlite_where=OPEN_PREDICATE
        ),
        # `supervised=true`: a handful of rows, newest first.
        Index("ix_problems_supervised_id", "id", postgresql_where=text("supervised"), sqlite_where=text("supervised")),
        # An Open311 client reads the problems it filed, newest first.
        Index("ix_problems_source_id", "source", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # None: filed by a partner system through the Open311 gateway (see `source`).
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Where it came from: "app", or "open311:<client name>" for a partner system.
    source: Mapped[str] = mapped_column(String(80), default="app", server_default="app")
    # The linked cadre responsible for the problem (the enterprise's primary cadre when filed).
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Current department (set by dispatch, kept after resolution for statistics).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # The person handling it now: the department staff member who claimed it, or the cadre.
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_reason: Mapped[str | None] = mapped_column(String(16))  # rated | unrated
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counted on a year the calendar did not cover: recomputed when that year is loaded.
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # What moved due_at since filing: approved extensions (working days) and time awaiting information.
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # While awaiting_info: the status to go back to, since when, and how many reminders were sent.
    paused_from: Mapped[str | None] = mapped_column(String(16))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    info_reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A pending extension request of the handler (one at a time).
    extension_request_days: Mapped[int | None] = mapped_column(Integer)
    extension_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_urged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every change; the ETag is derived from it.
    version: Mapped[int] = mapped_column(Integer, default=1)

    enterprise = relationship("Enterprise", lazy="raise")
    category = relationship("Category", lazy="raise")
    department = relationship("Department", lazy="raise")
    cadre = relationship("User", foreign_keys=[cadre_id], lazy="raise")
    handler = relationship("User", foreign_keys=[handler_id], lazy="raise")
    filed_by = relationship("User", foreign_keys=[filed_by_id], lazy="raise")


class ProblemEvent(db.Model):
    """One line of a problem's timeline: who did what, from which state to which, and why."""

    __tablename__ = "problem_events"
    __table_args__ = (
        # Only a dispatch names a department, so "dispatched to D" is just `department_id = D`
        # (problems.scoping.dispatched_to), a condition the planner estimates exactly.
        CheckConstraint("department_id IS NULL OR action = 'dispatch'", name="department_only_on_dispatch"),
        Index("ix_problem_events_problem_id_id", "problem_id", "id"),
        Index("ix_problem_events_department_id_problem_id", "department_id", "problem_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system (a job)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    # The department a dispatch sent the problem to (scopes departments to past dispatches).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User", lazy="raise")


class Rating(db.Model):
    """评价: the enterprise's score of one resolution of a problem."""

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        UniqueConstraint("problem_id", "resolution_no", name="uq_ratings_problem_resolution"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    rated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Which resolution this rates: the problem's reopen_count when it was rated (0 = first).
    resolution_no: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
