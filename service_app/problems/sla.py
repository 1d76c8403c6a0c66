"""Service-level deadlines (DESIGN.md §11), counted in working days as the 12345 hotlines count them.

- response: the first cadre action (accept, reject or resolve) by `response_due_at`, the end of the
  category's `response_days`-th working day after the day of filing;
- resolution: `due_at`, the end of the `resolve_days`-th working day after it (urgent: half of each,
  rounded up, at least one), moved by the working time spent awaiting information and by approved
  extensions; `deadline_provisional` when a year it was counted on is not in the calendar;
- overdue: open with the clock running (not awaiting information) and past `due_at`. It is
  computed, never stored, so it cannot go stale: `is_overdue` for one loaded problem,
  `overdue_clause` for a query;
- due soon: open with the clock running and due within one working day (`due_soon_clause`), for the
  job that tells the handler and for the to-do counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, literal_column

from service_app.common.time import SHANGHAI, as_utc
from service_app.problems.models import TIMED_STATUSES, Problem
from service_app.workdays.clock import Calendar, halved
from service_app.workdays.service import cached_calendar


@dataclass(frozen=True)
class Deadlines:
    response_due_at: datetime
    due_at: datetime
    provisional: bool


def deadlines(
    *,
    calendar: Calendar,
    created_at: datetime,
    response_days: int,
    resolve_days: int,
    urgent: bool,
    extension_days: int = 0,
    paused_seconds: int = 0,
) -> Deadlines:
    """The deadlines of a problem filed at `created_at`, after its extensions and pauses so far."""
    response = calendar.due_after(created_at, halved(response_days, urgent))
    due = calendar.due_after(created_at, halved(resolve_days, urgent))
    extended = calendar.add_working_days(due.at, extension_days)
    moved = calendar.add_working_time(extended.at, paused_seconds)
    provisional = response.provisional or due.provisional or extended.provisional or moved.provisional
    return Deadlines(response.at, moved.at, provisional)


def is_overdue(problem: Problem, now: datetime) -> bool:
    return problem.status in TIMED_STATUSES and as_utc(problem.due_at) < now


def overdue_clause(now: datetime):
    """WHERE condition: open, the clock running, and past the resolution deadline.

    The statuses are rendered as literals so that PostgreSQL can prove the condition implies the
    predicate of ix_problems_open_id_due_at in any plan, a cached generic one included (a page of
    overdue problems then walks that index newest first; counts use ix_problems_status_due_at).
    """
    return and_(status_in(TIMED_STATUSES), Problem.due_at < now)


def constant(value: str) -> ColumnElement[str]:
    """A code constant (a status, an action, a key name) written into the SQL text, not bound: no
    parameter to process at each execution and no statement re-rendered at each execution (an
    expanding or `literal_execute` parameter is), and PostgreSQL sees the value in a generic plan
    too (the partial indexes' predicates). Only identifiers: never a value from a request."""
    if not value.replace("_", "").isalnum() or not value.isascii():
        raise ValueError(f"not a constant: {value!r}")
    return literal_column(f"'{value}'", String())


def status_in(statuses) -> ColumnElement[bool]:
    """`problems.status IN ('a', 'b')` with the statuses written as constants."""
    return Problem.status.in_([constant(status) for status in statuses])


def due_soon_horizon(now: datetime, calendar: Calendar | None = None) -> datetime:
    """One working day after `now` (DESIGN §15), counted on `calendar` (default: now's year onwards,
    as read a few minutes ago at most, so that the to-do counts stay one statement)."""
    calendar = calendar or cached_calendar(as_utc(now).astimezone(SHANGHAI).year)
    return calendar.add_working_days(now, 1).at


def due_soon_clause(now: datetime, calendar: Calendar | None = None, *, horizon: Any = None):
    """WHERE condition: open, the clock running, not yet overdue, and due by `horizon` (default:
    `due_soon_horizon(now, calendar)`; a bound parameter when the statement is built once)."""
    horizon = due_soon_horizon(now, calendar) if horizon is None else horizon
    return and_(status_in(TIMED_STATUSES), Problem.due_at >= now, Problem.due_at <= horizon)
