"""The scheduler: registry, locked and logged runs, failure isolation, each job's effect, the run log API."""

from __future__ import annotations

import inspect
import threading
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, func, select, text, update

from service_app import scheduler
from service_app.auth.models import AuthSession
from service_app.common.models import IdempotencyKey
from service_app.common.time import SHANGHAI, utcnow
from service_app.extensions import db
from service_app.scheduling.locks import advisory_key
from service_app.scheduling.models import JobLock, JobRun
from service_app.scheduling.runner import Job, run_job
from service_app.stats.models import StatCommonProblem, StatFigure, StatTrendPoint
from tests.conftest import count_queries
from tests.factories import AdminFactory, CategoryFactory, UserFactory
from tests.factories_stats import ProblemFactory
from tests.helpers import assert_error, auth_headers

NOW = datetime(2019, 7, 1, 4, 0, tzinfo=UTC)


def _runs(job: str) -> list[JobRun]:
    return list(db.session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)))


def test_registry_names_are_unique_and_targets_resolve():
    names = [job.name for job in scheduler.JOBS]
    assert len(names) == len(set(names))
    assert {"stats.snapshot", "stats.trends", "purge"} <= set(names)
    for job in scheduler.JOBS:
        parameters = inspect.signature(job.function()).parameters
        assert parameters["now"].kind is inspect.Parameter.KEYWORD_ONLY, job.name


def test_scheduler_settings(app):
    built = scheduler.build_scheduler(app)
    assert str(built.timezone) == "Asia/Shanghai"
    defaults = built._job_defaults
    assert defaults["coalesce"] is True and defaults["max_instances"] == 1
    assert defaults["misfire_grace_time"] == app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"]
    jobs = {job.id: job for job in built.get_jobs()}
    assert set(jobs) == {job.name for job in scheduler.JOBS}
    assert isinstance(jobs["stats.snapshot"].trigger, IntervalTrigger) and jobs[
        "stats.snapshot"
    ].trigger.interval == timedelta(minutes=5)
    trends = scheduler.get_job("stats.trends").trigger
    assert trends.get_next_fire_time(None, datetime(2019, 7, 1, 12, tzinfo=SHANGHAI)) == datetime(
        2019, 7, 2, 0, 10, tzinfo=SHANGHAI
    )


def test_advisory_key_is_stable_and_signed_64_bit():
    assert advisory_key("stats.snapshot") == advisory_key("stats.snapshot") != advisory_key("purge")
    assert -(2**63) <= advisory_key("stats.snapshot") < 2**63


def _snapshot_state():
    figures = db.session.execute(
        select(
            StatFigure.dimension, StatFigure.key, StatFigure.total, StatFigure.resolved, StatFigure.overdue
        ).order_by(StatFigure.dimension, StatFigure.key)
    ).all()
    common = db.session.execute(
        select(StatCommonProblem.kind, StatCommonProblem.term, StatCommonProblem.problems).order_by(
            StatCommonProblem.kind, StatCommonProblem.term
        )
    ).all()
    return figures, common


def test_run_once_snapshot_job_is_recorded_and_idempotent(app, app_ctx):
    category = CategoryFactory()
    ProblemFactory(
        category=category, status="closed", resolved_at=NOW - timedelta(days=20), created_at=NOW - timedelta(days=25)
    )
    ProblemFactory(category=category, created_at=NOW - timedelta(days=10))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scheduler", "run-once", "stats.snapshot", "--now", "2019-07-01T12:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "stats.snapshot: ok" in result.output
    first = _snapshot_state()
    zone = db.session.scalar(select(StatFigure).where(StatFigure.dimension == "zone"))
    assert (zone.total, zone.resolved, zone.overdue, zone.computed_at) == (2, 1, 1, NOW)
    assert (
        runner.invoke(args=["scheduler", "run-once", "stats.snapshot", "--now", "2019-07-01T12:00+08:00"]).exit_code
        == 0
    )
    assert _snapshot_state() == first
    runs = _runs("stats.snapshot")
    assert [r.outcome for r in runs] == ["ok", "ok"] and runs[0].rows_affected == runs[1].rows_affected > 0
    assert runs[0].finished_at >= runs[0].started_at and runs[0].runner


def test_trends_job_is_idempotent(app, app_ctx):
    ProblemFactory(created_at=datetime(2019, 3, 1, 15, 30, tzinfo=UTC))
    first = scheduler.run_once(app, "stats.trends", now=NOW)
    points = db.session.execute(
        select(StatTrendPoint.interval, StatTrendPoint.bucket, StatTrendPoint.total).order_by(
            StatTrendPoint.interval, StatTrendPoint.bucket
        )
    ).all()
    assert ("day", "2019-03-01", 1) in points and ("month", "2019-03-01", 1) in points
    second = scheduler.run_once(app, "stats.trends", now=NOW)
    assert (
        db.session.execute(
            select(StatTrendPoint.interval, StatTrendPoint.bucket, StatTrendPoint.total).order_by(
                StatTrendPoint.interval, StatTrendPoint.bucket
            )
        ).all()
        == points
    )
    assert first.outcome == second.outcome == "ok" and first.rows_affected == second.rows_affected == 3


def test_purge_job_deletes_only_what_expired(app, app_ctx):
    user = UserFactory()
    long_ago = NOW - timedelta(days=400)
    db.session.add_all(
        [
            AuthSession(
                id="expired", user_id=user.id, refresh_jti="a", created_at=long_ago, expires_at=NOW - timedelta(days=1)
            ),
            AuthSession(
                id="alive", user_id=user.id, refresh_jti="b", created_at=NOW, expires_at=NOW + timedelta(days=1)
            ),
            IdempotencyKey(
                user_id=user.id,
                key="old",
                endpoint="/x",
                request_hash="0" * 64,
                created_at=long_ago,
                expires_at=NOW - timedelta(hours=1),
            ),
            JobRun(job="old.job", started_at=long_ago, finished_at=long_ago, outcome="ok"),
        ]
    )
    db.session.flush()
    first = scheduler.run_once(app, "purge", now=NOW)
    assert first.outcome == "ok" and first.rows_affected == 3
    assert db.session.scalars(select(AuthSession.id).where(AuthSession.user_id == user.id)).all() == ["alive"]
    assert not _runs("old.job")
    assert scheduler.run_once(app, "purge", now=NOW).rows_affected == 0


def _boom(*, now):
    raise RuntimeError("database on fire " + "x" * 5000)


def test_a_failing_job_is_recorded_and_does_not_escape(app, app_ctx):
    job = Job("test.boom", scheduler.every(minutes=1), _boom)
    result = run_job(app, job, now=NOW)
    assert result.outcome == "failed" and result.error.startswith("RuntimeError: database on fire")
    run = _runs("test.boom")[0]
    assert run.outcome == "failed" and len(run.error) == 2000 and run.rows_affected is None
    scheduler._tick(app, job)  # the scheduler's wrapper: records, never raises
    assert [r.outcome for r in _runs("test.boom")] == ["failed", "failed"]


def test_job_arguments_come_from_factories_made_at_each_run(app, app_ctx):
    """How a job needing a collaborator (a push sender) is registered in one line."""
    received = []

    def deliver(*, sender, now):
        received.append((type(sender).__name__, now))
        return 0

    job = Job(
        "test.deliver",
        scheduler.every(minutes=1),
        deliver,
        kwargs={"sender": "service_app.notifications.service:RecordingSender"},
    )
    assert run_job(app, job, now=NOW).outcome == "ok"
    assert received == [("RecordingSender", NOW)]


def test_cli_exit_status_and_list(app):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["scheduler", "list"])
    assert listing.exit_code == 0 and "stats.snapshot" in listing.output and "purge" in listing.output
    assert runner.invoke(args=["scheduler", "run-once", "no.such.job"]).exit_code != 0


def test_a_lock_held_elsewhere_skips_the_tick(app, app_ctx, backend_name):
    job = Job("test.locked", scheduler.every(minutes=1), lambda *, now: 7)
    if backend_name == "postgresql":
        # Another replica's advisory lock, on a connection of its own.
        with db.engines[None].engine.connect() as other:
            assert other.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(job.name)})
            assert run_job(app, job).outcome == "skipped"
            other.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(job.name)})
            other.commit()
    else:
        db.session.add(
            JobLock(
                name=job.name, holder="other-replica", acquired_at=utcnow(), expires_at=utcnow() + timedelta(minutes=10)
            )
        )
        db.session.flush()
        assert run_job(app, job).outcome == "skipped"
        # A crashed holder's row stops counting once it expires.
        db.session.execute(
            update(JobLock).where(JobLock.name == job.name).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.flush()
    result = run_job(app, job)
    assert (result.outcome, result.rows_affected) == ("ok", 7)
    assert db.session.get(JobLock, job.name) is None
    assert [r.outcome for r in _runs(job.name)] == ["skipped", "ok"]


@pytest.mark.committing
def test_a_second_concurrent_run_is_skipped(app):
    """Two real threads, each with its own app context, session and connection."""
    started, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def slow(*, now):
        started.set()
        assert release.wait(10)
        return 1

    job = Job("test.concurrent", scheduler.every(minutes=1), slow)
    first = threading.Thread(target=lambda: outcomes.append(run_job(app, job).outcome))
    first.start()
    try:
        assert started.wait(10)
        second = run_job(app, job)
        assert second.outcome == "skipped"
    finally:
        release.set()
        first.join(10)
    try:
        assert outcomes == ["ok"]
        assert run_job(app, job).outcome == "ok"  # released after the run
        with app.app_context():
            assert sorted(r.outcome for r in _runs(job.name)) == ["ok", "ok", "skipped"]
    finally:
        with app.app_context():
            db.session.execute(delete(JobRun).where(JobRun.job == job.name))
            db.session.execute(delete(JobLock).where(JobLock.name == job.name))
            db.session.commit()


def test_job_runs_endpoint_is_admin_only_paged_and_filtered(app, client, app_ctx):
    base = NOW
    for n in range(7):
        db.session.add(
            JobRun(
                job="a.job" if n % 2 else "b.job",
                started_at=base,
                finished_at=base,
                outcome="ok" if n else "failed",
                rows_affected=n,
            )
        )
    db.session.flush()
    headers = auth_headers(client, AdminFactory())
    page = client.get("/api/v1/admin/job-runs?job=a.job&limit=2", headers=headers).get_json()
    assert [r["job"] for r in page["items"]] == ["a.job", "a.job"] and page["next_cursor"]
    rest = client.get(
        f"/api/v1/admin/job-runs?job=a.job&limit=2&cursor={page['next_cursor']}", headers=headers
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert page["items"][0]["id"] > page["items"][1]["id"] > rest["items"][0]["id"]
    failed = client.get("/api/v1/admin/job-runs?outcome=failed", headers=headers).get_json()["items"]
    assert [r["rows_affected"] for r in failed] == [0]
    assert_error(client.get("/api/v1/admin/job-runs?outcome=maybe", headers=headers), 422)
    assert_error(client.get("/api/v1/admin/job-runs", headers=auth_headers(client, UserFactory())), 403)


def test_job_runs_list_is_a_fixed_number_of_statements(app, client, app_ctx):
    headers = auth_headers(client, AdminFactory())
    counts = []
    for size in (5, 50):
        db.session.execute(delete(JobRun))
        db.session.add_all(JobRun(job="q.job", started_at=NOW, finished_at=NOW, outcome="ok") for _ in range(size))
        db.session.flush()
        with count_queries(app) as statements:
            body = client.get(f"/api/v1/admin/job-runs?limit={size}", headers=headers).get_json()
        assert len(body["items"]) == size
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 50
