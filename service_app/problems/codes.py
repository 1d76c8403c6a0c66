"""Readable problem codes: `WT-YYYYMMDD-NNNN`, numbered per day in Asia/Shanghai.

The number comes from one counter row per day, incremented with an atomic upsert
(`INSERT … ON CONFLICT (day) DO UPDATE SET last_number = last_number + 1 RETURNING last_number`).
Two filings at the same moment therefore serialise on that row instead of both reading the same
`max(code)`: on PostgreSQL the second waits for the first's row lock and then sees its number,
on SQLite the database write lock does the same. The counter commits or rolls back with the
filing, so numbers have no gaps.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from sqlalchemy import Date, Integer, TextClause, bindparam, text
from sqlalchemy.orm import Mapped, mapped_column

from service_app.common.time import SHANGHAI
from service_app.common.transactions import execute
from service_app.extensions import db

PREFIX = "WT"


class ProblemCodeCounter(db.Model):
    """The last problem number handed out on one (Shanghai) day."""

    __tablename__ = "problem_code_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


def format_code(day: date, number: int) -> str:
    return f"{PREFIX}-{day:%Y%m%d}-{number:04d}"


def next_code(created_at: datetime) -> str:
    """Reserve the next code of `created_at`'s local day. Locks that day's counter until commit."""
    day = created_at.astimezone(SHANGHAI).date()
    return format_code(day, execute(_reserve(), {"day": day}).scalar_one())


@cache
def _reserve() -> TextClause:
    """The upsert as text, the same on SQLite and PostgreSQL: SQLAlchemy caches it, where its
    `on_conflict_do_update` construct would be compiled anew at every filing."""
    return text(
        "INSERT INTO problem_code_counters (day, last_number) VALUES (:day, 1) "
        "ON CONFLICT (day) DO UPDATE SET last_number = problem_code_counters.last_number + 1 "
        "RETURNING last_number"
    ).bindparams(bindparam("day", type_=Date()))
