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


def _told(problem_id: int, kind: str) -> set[int]:
    return set(_told_each(problem_id, kind))


def _told_each(problem_id: int, kind: str) -> list[int]:
    query = select(Notification.user_id).where(Notification.problem_id == problem_id, Notification.kind == kind)
    return list(db.session.scalars(query))


def test_flag_overdue_supervises_and_tells_once_per_deadline(app_ctx):
    world = make_world()
    second_manager = UserFactory()
    long_ago = utcnow() - timedelta(days=30)  # the category's 3 working days have passed
    assert jobs.flag_overdue(now=long_ago) == 0  # the previous run: nothing was overdue then
    late = file(world, now=long_ago)
    late_working = problem_in(world, "in_progress", now=long_ago)
    already = file(world, now=long_ago)
    service.perform(world.manager, already, "supervise")
    finished = problem_in(world, "resolved", now=long_ago)
    on_time = file(world)
    before = {pid: db.session.get(Problem, pid).version for pid in (late, late_working)}

    assert jobs.flag_overdue(now=utcnow()) == 3
    for pid in (late, late_working):
        problem = db.session.get(Problem, pid)
        assert problem.supervised and problem.supervised_at is not None and problem.version == before[pid] + 1
        assert _system_events(pid) == [("supervise", problem.status, None)]
    assert db.session.get(Problem, late).status == "submitted"  # supervising is not a state change
    assert [db.session.get(Problem, pid).supervised for pid in (finished, on_time)] == [False, False]
    managers = {world.manager.id, second_manager.id}
    assert _told(late_working, "overdue") == managers | {world.staff.id, world.cadre.id}
    assert _told(late, "overdue") == managers | {world.cadre.id}
    assert _told(already, "overdue") == managers | {world.cadre.id}  # told, though a manager supervised it already
    assert _system_events(already) == []

    assert jobs.flag_overdue(now=utcnow()) == 0
    assert len(_system_events(late)) == 1
    assert len(_told(late, "overdue")) == 3


def _due_in(problem_id: int, delta: timedelta) -> int:
    """Put the problem's deadline `delta` from now (the working-day arithmetic is tested elsewhere)."""
    db.session.get(Problem, problem_id).due_at = utcnow() + delta
    db.session.commit()
    return problem_id


def test_the_first_run_of_a_notifying_job_tells_nobody(app_ctx):
    world = make_world()
    long_ago = utcnow() - timedelta(days=30)
    late = file(world, now=long_ago)
    soon = _due_in(file(world), timedelta(hours=2))
    assert (jobs.flag_overdue(now=utcnow()), jobs.notify_due_soon(now=utcnow())) == (0, 0)
    assert not db.session.get(Problem, late).supervised
    assert _told(late, "overdue") == _told(soon, "due_soon") == set()
    # The next runs tell only what changes: the late problem stays untold, the other falls due.
    assert jobs.flag_overdue(now=utcnow() + timedelta(hours=13)) == 1
    assert _told(late, "overdue") == set() and _told(soon, "overdue") >= {world.cadre.id}


def test_due_soon_tells_whoever_handles_it_once_per_deadline(app_ctx):
    world = make_world()
    now = utcnow()
    assert jobs.notify_due_soon(now=now - timedelta(hours=1)) == 0  # the first run
    unclaimed = _due_in(problem_in(world, "dispatched"), timedelta(hours=2))
    working = _due_in(problem_in(world, "in_progress"), timedelta(hours=2))
    later = problem_in(world, "in_progress")  # due in three working days
    paused = _due_in(problem_in(world, "awaiting_info"), timedelta(hours=2))  # the clock stopped
    assert jobs.notify_due_soon(now=now) == 2
    assert _told(unclaimed, "due_soon") == {world.lead.id}  # nobody handles it: the department's lead
    assert _told(working, "due_soon") == {world.staff.id}
    assert _told(later, "due_soon") == _told(paused, "due_soon") == set()
    assert jobs.notify_due_soon(now=now + timedelta(minutes=10)) == 0
    # A new deadline is a new notice, once.
    service.perform(world.manager, working, "extend", due_at=now + timedelta(hours=3), reason="等待设备到货")
    assert jobs.notify_due_soon(now=now + timedelta(minutes=20)) == 1
    assert jobs.notify_due_soon(now=now + timedelta(minutes=30)) == 0
    assert len(_told_each(working, "due_soon")) == 2


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
