"""The exceptions to the weekday rule: statutory holidays and make-up working days (调休)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service_app.extensions import db

DAY_KINDS = ("holiday", "workday")


class CalendarDay(db.Model):
    """One date that is not what its weekday says: a holiday on a weekday or a working weekend day.

    A year is covered by the calendar when it has rows (every real year has holidays)."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind_valid"),)

    date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))


class CalendarRevision(db.Model):
    """One row whose token changes with every write to `calendar_days` (database triggers, migration
    02401), committed or rolled back with it: a process may keep a calendar it read under a token
    for as long as the token is current, in every worker. The token is random, so a state that was
    rolled back never shares a token with a later one."""

    __tablename__ = "calendar_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
