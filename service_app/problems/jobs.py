"""Scheduled jobs of the problem life cycle: plain functions the scheduler process registers.

Each job locks the rows it changes (`FOR UPDATE SKIP LOCKED`: a problem a user is acting on right
now is left for the next run rather than waited for), changes them through
`workflow.transition` like any other actor (as the system: no user), commits once and returns
how many problems it changed. Running a job twice changes nothing the second time.

The jobs that notify have their rows of the notice table (DESIGN §9) here, next to them, and tell
only what changed since their previous run: a deadline is told once per `due_at` value (a
`ProblemMark`), and a job's first run (no `JobWatermark` yet) records where things stand and tells
nobody — a fresh database with years of history is not a flood of notices about it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select

from service_app.common.time import SHANGHAI, as_utc
from service_app.extensions import db
from service_app.notifications.models import ProblemMark
from service_app.notifications.service import advance_watermark
from service_app.problems import sla, workflow
from service_app.problems.models import Problem, Rating
from service_app.problems.workflow import Notice, Params
from service_app.workdays.service import calendar_for

OVERDUE_NOTE = "超过办理时限，系统自动督办"
UNRATED_NOTE = "办结后逾期未评价，系统自动关闭"
# Awaiting information: the enterprise is reminded every this many working days, at most this many times.
INFO_REMINDER_DAYS = 3
INFO_REMINDERS = 3

# The jobs' rows of the notice table: the handler (nobody assigned: the department's lead) hears a
# deadline is one working day away; handler, cadre and managers hear it has passed.
DUE_SOON = Notice("due_soon", (workflow.doers,), extra=workflow.with_due_at)
OVERDUE = Notice("overdue", (workflow.doers, workflow.cadre_of, workflow.managers), extra=workflow.with_due_at)
# The enterprise is reminded of a question it has not answered (which reminder this is: 1, 2 or 3).
INFO_REMINDER = Notice(
    "info_reminder", (workflow.enterprise_users,), extra=lambda problem, _params: {"reminder": problem.info_reminders}
)


def _locked(*conditions) -> list[Problem]:
    query = select(Problem).where(*conditions).order_by(Problem.id).with_for_update(of=Problem, skip_locked=True)
    return list(db.session.scalars(query))


def _untold(kind: str):
    """Condition: no notice of `kind` has been sent for the problem's current deadline."""
    return ~exists().where(
        ProblemMark.kind == kind, ProblemMark.problem_id == Problem.id, ProblemMark.due_at == Problem.due_at
    )


def _mark_told(kind: str, problems: list[Problem]) -> None:
    marks = {
        mark.problem_id: mark
        for mark in db.session.scalars(
            select(ProblemMark).where(ProblemMark.kind == kind, ProblemMark.problem_id.in_([p.id for p in problems]))
        )
    }
    for problem in problems:
        if problem.id in marks:
            marks[problem.id].due_at = problem.due_at
        else:
            db.session.add(ProblemMark(kind=kind, problem_id=problem.id, due_at=problem.due_at))


def flag_overdue(*, now: datetime) -> int:
    """Problems that became overdue since the previous run: supervised (unless already) and told to
    the handler, the cadre and the managers, once per deadline. The first run only records them."""
    first_run = advance_watermark("problems.flag_overdue", now=now) is None
    problems = _locked(sla.overdue_clause(now), _untold("overdue"))
    _mark_told("overdue", problems)
    if first_run:
        db.session.commit()
        return 0
    for problem in problems:
        if not problem.supervised:
            workflow.transition(problem, "supervise", actor=None, now=now, params=Params(note=OVERDUE_NOTE))
        OVERDUE.send(problem, None, Params())
    db.session.commit()
    return len(problems)


def notify_due_soon(*, now: datetime) -> int:
    """Tell whoever handles a problem that its deadline is near, once per deadline; the first run
    only records what is due soon already."""
    first_run = advance_watermark("problems.notify_due_soon", now=now) is None
    problems = list(db.session.scalars(
        select(Problem).where(sla.due_soon_clause(now), _untold("due_soon")).order_by(Problem.id)
    ))
    _mark_told("due_soon", problems)
    if not first_run:
        for problem in problems:
            DUE_SOON.send(problem, None, Params())
    db.session.commit()
    return 0 if first_run else len(problems)


def close_unrated(*, now: datetime, days: int | None = None) -> int:
    """Close problems resolved more than `days` (UNRATED_CLOSE_DAYS) ago whose resolution was never rated."""
    days = current_app.config["UNRATED_CLOSE_DAYS"] if days is None else days
    rated = exists().where(Rating.problem_id == Problem.id, Rating.resolution_no == Problem.reopen_count)
    problems = _locked(Problem.status == "resolved", Problem.resolved_at < now - timedelta(days=days), ~rated)
    for problem in problems:
        workflow.transition(
            problem, "close", actor=None, now=now, params=Params(note=UNRATED_NOTE, closed_reason="unrated")
        )
    db.session.commit()
    return len(problems)


def remind_awaiting_info(*, now: datetime) -> int:
    """Remind the enterprise of a question still unanswered, every 3 working days, at most 3 times.

    A reminder that fell due more than a day before this run is counted but not sent (the scheduler
    was down, or the data is history such as the 2019 demo): nobody hears of an old question at once."""
    problems = _locked(Problem.status == "awaiting_info", Problem.info_reminders < INFO_REMINDERS)
    reminded = 0
    for problem in problems:
        calendar = calendar_for(as_utc(problem.paused_at).astimezone(SHANGHAI).year)
        due = [
            calendar.add_working_days(problem.paused_at, INFO_REMINDER_DAYS * n).at
            for n in range(problem.info_reminders + 1, INFO_REMINDERS + 1)
        ]
        passed = [moment for moment in due if moment <= now]
        if not passed:
            continue
        problem.info_reminders += len(passed)
        if now - passed[-1] > timedelta(days=1):
            continue
        INFO_REMINDER.send(problem, None, Params())
        reminded += 1
    db.session.commit()
    return reminded
