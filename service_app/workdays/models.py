"""The exceptions to the weekday rule: statutory holidays and make-up working days (调休)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, String
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
