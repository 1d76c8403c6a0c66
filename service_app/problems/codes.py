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

from sqlalchemy import Date, Integer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from service_app.common.time import SHANGHAI
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
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = ProblemCodeCounter.__table__
    statement = (
        insert(table)
        .values(day=day, last_number=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"last_number": table.c.last_number + 1})
        .returning(table.c.last_number)
    )
    return format_code(day, db.session.execute(statement).scalar_one())
