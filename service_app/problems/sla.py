"""Service-level deadlines (DESIGN.md §4), as the 12345 hotlines measure them.

- response: the first cadre action (accept, reject or resolve) within RESPONSE_SLA_HOURS;
- resolution: `due_at = created_at + category.sla_hours`, half of that for urgent problems;
- overdue: still open and past `due_at`. It is computed, never stored, so it cannot go stale:
  `is_overdue` for one loaded problem, `overdue_clause` for a query;
- due soon: still open and due within `DUE_SOON` (`due_soon_clause`), for the job that tells the
  handler and for the to-do counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam

from service_app.common.time import as_utc
from service_app.problems.models import OPEN_STATUSES, Problem

# "One working day left" (DESIGN §15); a day of the clock until the working-day calendar exists.
DUE_SOON = timedelta(days=1)


def deadlines(*, created_at: datetime, sla_hours: int, urgent: bool, response_hours: int) -> tuple[datetime, datetime]:
    """(response_due_at, due_at) of a problem filed at `created_at`."""
    resolution_hours = sla_hours / 2 if urgent else sla_hours
    return created_at + timedelta(hours=response_hours), created_at + timedelta(hours=resolution_hours)


def is_overdue(problem: Problem, now: datetime) -> bool:
    return problem.status in OPEN_STATUSES and as_utc(problem.due_at) < now


def overdue_clause(now: datetime):
    """WHERE condition: open and past the resolution deadline.

    The statuses are rendered as literals so that PostgreSQL can prove the condition implies the
    predicate of ix_problems_open_id_due_at in any plan, a cached generic one included (a page of
    overdue problems then walks that index newest first; counts use ix_problems_status_due_at).
    """
    return and_(Problem.status.in_(_open_statuses()), Problem.due_at < now)


def _open_statuses():
    return bindparam("open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True)


def due_soon_clause(now: datetime):
    """WHERE condition: open, not yet overdue, and due within DUE_SOON of `now`."""
    return and_(Problem.status.in_(_open_statuses()), Problem.due_at >= now, Problem.due_at < now + DUE_SOON)
