"""Reading the calendar: the rows of a year, and the `Calendar` deadlines are counted on."""

from __future__ import annotations

import time
from datetime import date

from flask import current_app
from sqlalchemy import select

from service_app.extensions import db
from service_app.workdays.clock import Calendar, WorkingHours
from service_app.workdays.models import CalendarDay, CalendarRevision

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


def revision_token():
    """`(SELECT token FROM calendar_revisions)`, to read with another statement: see `calendar_at`."""
    return select(CalendarRevision.token).where(CalendarRevision.id == 1).scalar_subquery()


# Calendars kept per database, first year and revision token: a token is current until the next write
# to calendar_days (in any worker), so a calendar kept under it is the calendar (models.CalendarRevision).
_by_revision: dict[tuple[str, int, str], Calendar] = {}
_KEPT_REVISIONS = 32


def calendar_at(first_year: int, token: str | None) -> Calendar:
    """`calendar_for(first_year)` as of the revision `token` the caller read in its transaction (with
    `revision_token()`): read once per token and process. None (no revision row) reads it."""
    if token is None:
        return calendar_for(first_year)
    key = (str(db.session.get_bind().engine.url), first_year, token)
    found = _by_revision.get(key)
    if found is None:
        if len(_by_revision) >= _KEPT_REVISIONS:
            _by_revision.clear()
        found = _by_revision[key] = calendar_for(first_year)
    return found


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
