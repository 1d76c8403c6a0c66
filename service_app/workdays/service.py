"""Reading the calendar: the rows of a year, and the `Calendar` deadlines are counted on."""

from __future__ import annotations

import time
from datetime import date

from flask import current_app
from sqlalchemy import select

from service_app.extensions import db
from service_app.workdays.clock import Calendar, WorkingHours
from service_app.workdays.models import CalendarDay

# Deadlines are counted on the calendar of the year they start in and the next ones up to this many.
YEARS_AHEAD = 2


def working_hours() -> WorkingHours:
    return WorkingHours.parse(current_app.config["WORKING_HOURS"])


def calendar_for(first_year: int, *, years_ahead: int = YEARS_AHEAD) -> Calendar:
    """The calendar of `first_year` and the `years_ahead` following years, in one statement."""
    rows = db.session.execute(
        select(CalendarDay.date, CalendarDay.kind).where(
            CalendarDay.date >= date(first_year, 1, 1), CalendarDay.date < date(first_year + years_ahead + 1, 1, 1)
        )
    ).all()
    exceptions = {day: kind == "workday" for day, kind in rows}
    return Calendar(exceptions, frozenset(day.year for day in exceptions), working_hours())


def year_days(year: int) -> list[CalendarDay]:
    """The exceptions of one year, by date."""
    query = select(CalendarDay).where(CalendarDay.date >= date(year, 1, 1), CalendarDay.date < date(year + 1, 1, 1))
    return list(db.session.scalars(query.order_by(CalendarDay.date)))


def covered_years() -> set[int]:
    """The years that have rows."""
    return {day.year for day in db.session.scalars(select(CalendarDay.date))}


# Calendars read for counts that run on every request (the to-do's "due soon"): kept a short while per
# database and year, so such a request adds no statement; loading or replacing a year forgets them.
_CACHE_SECONDS = 300
_cached: dict[tuple[str, int], tuple[float, Calendar]] = {}


def cached_calendar(first_year: int) -> Calendar:
    """`calendar_for(first_year)`, read at most once every few minutes (for figures, not for deadlines)."""
    key = (str(db.session.get_bind().engine.url), first_year)
    found = _cached.get(key)
    if found is None or time.monotonic() - found[0] > _CACHE_SECONDS:
        found = _cached[key] = (time.monotonic(), calendar_for(first_year))
    return found[1]


def forget_cached() -> None:
    _cached.clear()
