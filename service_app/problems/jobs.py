"""Scheduled jobs of the problem life cycle: plain functions the scheduler process registers.

Each job locks the rows it changes (`FOR UPDATE SKIP LOCKED`: a problem a user is acting on right
now is left for the next run rather than waited for), changes them through
`workflow.transition` like any other actor (as the system: no user), commits once and returns
how many problems it changed. Running a job twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select

from service_app.common.time import SHANGHAI, as_utc
from service_app.extensions import db
from service_app.notifications.service import notify
from service_app.problems import sla, workflow
from service_app.problems.models import Problem, Rating
from service_app.problems.workflow import Params
from service_app.workdays.service import calendar_for

OVERDUE_NOTE = "超过办理时限，系统自动督办"
UNRATED_NOTE = "办结后逾期未评价，系统自动关闭"
# Awaiting information: the enterprise is reminded every this many working days, at most this many times.
INFO_REMINDER_DAYS = 3
INFO_REMINDERS = 3


def _locked(*conditions) -> list[Problem]:
    query = select(Problem).where(*conditions).order_by(Problem.id).with_for_update(of=Problem, skip_locked=True)
    return list(db.session.scalars(query))


def flag_overdue(*, now: datetime) -> int:
    """Supervise open problems past their deadline that nobody supervises yet; managers are told."""
    problems = _locked(sla.overdue_clause(now), Problem.supervised.is_(False))
    for problem in problems:
        workflow.transition(problem, "supervise", actor=None, now=now, params=Params(note=OVERDUE_NOTE))
    db.session.commit()
    return len(problems)


def close_unrated(*, now: datetime, days: int | None = None) -> int:
    """Close problems resolved more than `days` (UNRATED_CLOSE_DAYS) ago whose resolution was never rated."""
    days = current_app.config["UNRATED_CLOSE_DAYS"] if days is None else days
    rated = exists().where(Rating.problem_id == Problem.id, Rating.resolution_no == Problem.reopen_count)
    problems = _locked(Problem.status == "resolved", Problem.resolved_at < now - timedelta(days=days), ~rated)
    for problem in problems:
        workflow.transition(problem, "close", actor=None, now=now, params=Params(note=UNRATED_NOTE, closed_reason="unrated"))
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
        notify(
            workflow.enterprise_users(problem),
            kind="info_reminder",
            title=f"请尽快补充问题材料：{problem.title}",
            body=problem.code,
            problem_id=problem.id,
            data={"code": problem.code, "status": problem.status, "reminder": problem.info_reminders},
        )
        reminded += 1
    db.session.commit()
    return reminded
