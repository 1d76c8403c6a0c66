"""Scheduled jobs: flag overdue problems, close resolved problems nobody rated. Both idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import jobs, service
from service_app.problems.models import Problem, ProblemEvent
from tests.factories import UserFactory
from tests.factories_problems import file, make_world, problem_in


def _system_events(problem_id: int) -> list[tuple[str, str | None, str | None]]:
    rows = db.session.execute(
        select(ProblemEvent.action, ProblemEvent.to_status, ProblemEvent.reason_code)
        .where(ProblemEvent.problem_id == problem_id, ProblemEvent.actor_id.is_(None))
        .order_by(ProblemEvent.id)
    )
    return [tuple(row) for row in rows]


def test_flag_overdue_supervises_once_and_tells_managers(app_ctx):
    world = make_world()
    second_manager = UserFactory()
    long_ago = utcnow() - timedelta(days=30)  # the category's 3 working days have passed
    late = file(world, now=long_ago)
    late_working = problem_in(world, "in_progress", now=long_ago)
    already = file(world, now=long_ago)
    service.perform(world.manager, already, "supervise")
    finished = problem_in(world, "resolved", now=long_ago)
    on_time = file(world)
    before = {pid: db.session.get(Problem, pid).version for pid in (late, late_working)}

    assert jobs.flag_overdue(now=utcnow()) == 2
    for pid in (late, late_working):
        problem = db.session.get(Problem, pid)
        assert problem.supervised and problem.supervised_at is not None and problem.version == before[pid] + 1
        assert _system_events(pid) == [("supervise", problem.status, None)]
    assert db.session.get(Problem, late).status == "submitted"  # supervising is not a state change
    assert [db.session.get(Problem, pid).supervised for pid in (finished, on_time)] == [False, False]
    notices = db.session.execute(select(Notification.user_id).where(Notification.problem_id == late_working, Notification.kind == "overdue"))
    assert {row[0] for row in notices} == {world.manager.id, second_manager.id, world.staff.id, world.cadre.id}
    assert _system_events(already) == []

    assert jobs.flag_overdue(now=utcnow()) == 0
    assert len(_system_events(late)) == 1


def test_close_unrated_closes_only_old_unrated_resolutions(app_ctx):
    world = make_world()
    now = utcnow()
    old = problem_in(world, "resolved", now=now - timedelta(days=8))
    recent = problem_in(world, "resolved", now=now - timedelta(days=3))
    # Reopened after a poor rating of its first resolution, resolved again 8 days ago: unrated again.
    reopened = problem_in(world, "resolved", now=now - timedelta(days=20))
    service.rate(world.owner, reopened, score=2, now=now - timedelta(days=19))
    service.perform(world.staff, reopened, "resolve", resolution="第二次办理", now=now - timedelta(days=8))
    closed = problem_in(world, "closed", now=now - timedelta(days=30))

    assert jobs.close_unrated(now=now) == 2
    for pid in (old, reopened):
        problem = db.session.get(Problem, pid)
        assert (problem.status, problem.closed_reason, problem.closed_at) == ("closed", "unrated", now)
        assert _system_events(pid) == [("close", "closed", "unrated")]
    assert db.session.get(Problem, recent).status == "resolved"
    assert db.session.get(Problem, closed).closed_reason == "rated"

    assert jobs.close_unrated(now=now) == 0
    assert jobs.close_unrated(now=now + timedelta(days=5)) == 1  # now `recent` is old enough
    assert jobs.close_unrated(now=now, days=1) == 0
