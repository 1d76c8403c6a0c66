"""The calendar as the deadlines see it: loading a year, and recounting what was counted without it.

Deadlines are counted by `sla.deadlines` on `workdays` (the calendar itself); this module is the
part of the calendar that changes problems, so it sits with them: loading a year (`PUT
/calendar/{year}` or the `chinesecalendar` package) recounts every provisional deadline, and from
1 November a daily job tells admins when next year is still missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from service_app.auth.models import Role, User
from service_app.common.i18n import bilingual
from service_app.common.time import SHANGHAI, as_utc, utcnow
from service_app.errors import ValidationFailed
from service_app.extensions import db
from service_app.notifications.service import advance_watermark, notify
from service_app.org.models import Category
from service_app.problems import sla
from service_app.problems.models import Problem
from service_app.workdays import service as workdays
from service_app.workdays.models import CalendarDay
from service_app.workdays.package import package_days


@dataclass
class CalendarYear:
    year: int
    covered: bool
    days: list[CalendarDay]


def calendar_year(*, year: int) -> CalendarYear:
    days = workdays.year_days(year)
    return CalendarYear(year, bool(days), days)


def replace_year(*, year: int, days: Sequence[dict[str, Any]]) -> CalendarYear:
    """Replace the exceptions of `year` (an admin, from the State Council's notice) and recount."""
    errors: dict[str, dict[str, list[str]]] = {}
    seen: set[date] = set()
    for index, row in enumerate(days):
        if row["date"].year != year:
            errors[str(index)] = {"date": [bilingual(f"不在 {year} 年内", f"Not in {year}")]}
        elif row["date"] in seen:
            errors[str(index)] = {"date": [bilingual("日期重复", "Duplicate date")]}
        seen.add(row["date"])
    if errors:
        raise ValidationFailed(errors={"days": errors})
    db.session.execute(
        delete(CalendarDay).where(CalendarDay.date >= date(year, 1, 1), CalendarDay.date < date(year + 1, 1, 1))
    )
    if days:
        db.session.execute(
            insert(CalendarDay), [{"date": r["date"], "kind": r["kind"], "name": r["name"]} for r in days]
        )
    _recount_provisional()
    db.session.commit()
    workdays.forget_cached()
    return calendar_year(year=year)


def load_package() -> list[int]:
    """Insert every year the `chinesecalendar` package covers that the database lacks; recount. Idempotent:
    a year already present (loaded before, or entered by an admin) is left as it is."""
    present = workdays.covered_years()
    missing = {year: days for year, days in package_days().items() if year not in present}
    rows = [{"date": day, "kind": kind, "name": name} for days in missing.values() for day, kind, name in days]
    if rows:
        db.session.execute(insert(CalendarDay), rows)
        _recount_provisional()
    db.session.commit()
    workdays.forget_cached()
    return sorted(missing)


def _recount_provisional() -> int:
    """Count the provisional deadlines again on the calendar as it is now (in the caller's transaction)."""
    query = (
        select(Problem, Category.response_days, Category.resolve_days)
        .join(Category, Category.id == Problem.category_id)
        .where(Problem.deadline_provisional.is_(True))
        .order_by(Problem.id)
        .with_for_update(of=Problem)
    )
    calendars: dict[int, Any] = {}
    count = 0
    for problem, response_days, resolve_days in db.session.execute(query).tuples():
        year = as_utc(problem.created_at).astimezone(SHANGHAI).year
        calendar = calendars.get(year) or calendars.setdefault(year, workdays.calendar_for(year))
        counted = sla.deadlines(
            calendar=calendar,
            created_at=problem.created_at,
            response_days=response_days,
            resolve_days=resolve_days,
            urgent=problem.urgent,
            extension_days=problem.extension_days,
            paused_seconds=problem.paused_seconds,
        )
        problem.response_due_at, problem.due_at = counted.response_due_at, counted.due_at
        problem.deadline_provisional = counted.provisional
        count += 1
    return count


def alert_missing_calendar(*, now: datetime | None = None) -> int:
    """From 1 November: tell the admins that next year's calendar is not loaded.

    Told when November has begun since the job's previous run (its first run records where it stands
    and tells nobody, DESIGN §15), so a scheduler started in December does not announce it at once and
    a daily run does not repeat it."""
    now = as_utc(now or utcnow())
    previous = advance_watermark("calendar.alert_missing", now=now)
    today = now.astimezone(SHANGHAI).date()
    season = date(today.year, 11, 1)
    began = previous is not None and as_utc(previous).astimezone(SHANGHAI).date() < season <= today
    if not began or today.year + 1 in workdays.covered_years():
        db.session.commit()
        return 0
    admins = db.session.scalars(select(User.id).where(User.role == Role.ADMIN.value, User.is_active.is_(True)))
    told = notify(list(admins), kind="calendar_missing", params={"year": today.year + 1})
    db.session.commit()
    return told
