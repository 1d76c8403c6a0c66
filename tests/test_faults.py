"""Faults with real processes: a gunicorn worker killed mid-write, the database restarted under load.

These run the service under gunicorn against a private PostgreSQL cluster the test owns, so the
database can be stopped and started without touching anyone else's.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
import time
from datetime import UTC

import pytest
import sqlalchemy as sa

from service_app.org import credit_code
from tests.live import LiveService, private_postgres


@pytest.fixture(scope="module")
def private_pg():
    cluster = private_postgres("the fault tests")
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def live(private_pg):
    service = LiveService(private_pg.url, workers=2).prepare(seed="demo").start()
    yield service
    service.stop()


_numbers = iter(range(10_000, 99_999))


def _enterprise_body(tag: str) -> dict:
    return {"name": f"故障测试企业{tag}", "credit_code": credit_code.make(f"91430211FT{next(_numbers):07d}")}


def _problem_body(tag: str) -> dict:
    return {"title": f"故障测试问题{tag}", "description": "工作进程被强制终止时提交的问题", "category_id": 1}


def _write_load(
    live: LiveService, token: str, *, threads: int, per_thread: int, results: list
) -> list[threading.Thread]:
    def worker(index: int) -> None:
        for number in range(per_thread):
            body = _problem_body(f"{index}-{number}")
            try:
                status, reply = live.request("POST", "/problems", body=body, token=token, timeout=15)
            except (OSError, http.client.HTTPException) as error:  # the worker died mid-reply: outcome unknown
                status, reply = None, {"error": type(error).__name__}
            results.append((body, status, reply))

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    return pool


def test_killed_worker_loses_no_acknowledged_write(live, private_pg):
    token = live.login("ent001", "Demo@2019")
    results: list = []
    pool = _write_load(live, token, threads=4, per_thread=40, results=results)
    kills = 0
    while any(t.is_alive() for t in pool) and kills < 4:
        time.sleep(0.4)
        workers = live.workers()
        if workers:
            os.kill(workers[kills % len(workers)], signal.SIGKILL)
            kills += 1
    for thread in pool:
        thread.join(timeout=120)
    assert kills >= 2, "the load finished before workers could be killed"

    acknowledged = {body["title"]: reply["id"] for body, status, reply in results if status == 201}
    assert all(status in (201, None) for _, status, _ in results), [r for r in results if r[1] not in (201, None)][:5]
    engine = sa.create_engine(private_pg.url)
    with engine.connect() as connection:
        stored = dict(
            connection.execute(sa.text("SELECT title, id FROM problems WHERE title LIKE '故障测试问题%'")).all()
        )
        half_written = connection.execute(
            sa.text(
                "SELECT count(*) FROM problems p WHERE p.title LIKE '故障测试问题%' AND NOT EXISTS "
                "(SELECT 1 FROM problem_events e WHERE e.problem_id = p.id AND e.action = 'submit')"
            )
        ).scalar_one()
    engine.dispose()
    # Every write that was acknowledged is there, with the id the client was given.
    assert {title: stored.get(title) for title in acknowledged} == acknowledged
    # Unacknowledged writes either committed whole or not at all; nothing else appeared.
    assert set(stored) <= {body["title"] for body, _, _ in results}
    assert half_written == 0
    assert len(acknowledged) > 0
    unknown = sum(1 for _, status, _ in results if status is None)
    print(
        f"\nworker kills: {kills}; writes acknowledged: {len(acknowledged)}; cut off by a kill: {unknown}; "
        f"stored: {len(stored)}"
    )
    # The master replaced the killed workers and the service still answers.
    assert live.request("GET", "/health/ready")[0] == 200


def test_database_restart_is_survived(live, private_pg):
    token = live.login("liveadmin", "Admin@2019live")
    assert live.request("GET", "/health/ready")[0] == 200
    private_pg.stop("immediate")
    try:
        status, body = live.request("GET", "/health/ready")
        assert status == 503 and body["code"] == 503 and body["error_code"] == "service_unavailable"
        for method, path, payload in [
            ("GET", "/enterprises", None),
            ("POST", "/enterprises", _enterprise_body("down")),
            ("GET", "/problems", None),
            ("GET", "/me", None),
        ]:
            status, body = live.request(method, path, body=payload, token=token)
            assert status == 503, (path, status, body)
            assert body["code"] == 503 and "Traceback" not in str(body)
    finally:
        private_pg.start()
    # The service recovers by itself: stale pooled connections are replaced.
    deadline = time.monotonic() + 30
    while live.request("GET", "/health/ready")[0] != 200:
        assert time.monotonic() < deadline, "readiness did not recover"
        time.sleep(0.5)
    for _ in range(6):  # every worker and pooled connection gets exercised
        status, _ = live.request("POST", "/enterprises", body=_enterprise_body("after"), token=token)
        assert status == 201


def _kill_mid_job(env: dict, holds_lock) -> int:
    """Start one snapshot run, SIGKILL it once it holds the job's lock; returns its pid."""
    from tests.live import BIN, ROOT

    process = subprocess.Popen(
        [BIN / "flask", "scheduler", "run-once", "stats.snapshot"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not holds_lock():
        if process.poll() is not None:
            raise AssertionError(
                f"the job ended before it was seen holding its lock: {process.stdout.read()[-2000:]!r}"
            )
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.1)
    process.kill()
    process.wait()
    return process.pid


def _rerun_completes(env: dict, url: str, killed_pid: int, killed_at) -> None:
    from tests.live import BIN, ROOT

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        # Killed mid-job: it never recorded a finished run.
        finished = (
            connection.execute(
                sa.text("SELECT outcome FROM job_runs WHERE runner LIKE :pid"), {"pid": f"%:{killed_pid}"}
            )
            .scalars()
            .all()
        )
        assert finished == [], f"the killed run had already finished: {finished}"
    rerun = subprocess.run(
        [BIN / "flask", "scheduler", "run-once", "stats.snapshot"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "stats.snapshot: ok" in rerun.stdout, rerun.stdout + rerun.stderr[-2000:]
    with engine.connect() as connection:
        computed = connection.execute(sa.text("SELECT max(computed_at) FROM stat_figures")).scalar_one()
        total = connection.execute(sa.text("SELECT count(*) FROM problems")).scalar_one()
    engine.dispose()
    if isinstance(computed, str):  # SQLite hands the timestamp back as text
        from datetime import datetime

        computed = datetime.fromisoformat(computed).replace(tzinfo=UTC)
    assert computed >= killed_at and total >= 1301, (computed, killed_at, total)


def test_scheduler_killed_mid_job_next_run_completes_postgresql(live, private_pg):
    from service_app.common.time import utcnow

    engine = sa.create_engine(private_pg.url)

    def holds_lock() -> bool:
        with engine.connect() as connection:
            return (
                connection.execute(
                    sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
                ).scalar_one()
                > 0
            )

    killed_at = utcnow()
    pid = _kill_mid_job(live.env, holds_lock)
    engine.dispose()
    _rerun_completes(live.env, private_pg.url, pid, killed_at)


def test_scheduler_killed_mid_job_next_run_completes_sqlite(tmp_path):
    import sqlite3
    from contextlib import closing

    from service_app.common.time import utcnow

    path = tmp_path / "sched.db"
    url = f"sqlite:///{path}"
    service = LiveService(url).prepare(seed="demo")

    def holds_lock() -> bool:
        # A plain read (WAL): through this process's engines it would BEGIN IMMEDIATE and queue
        # behind the very job it is watching.
        with closing(sqlite3.connect(path, timeout=5)) as connection:
            return connection.execute("SELECT count(*) FROM job_locks WHERE name = 'stats.snapshot'").fetchone()[0] > 0

    killed_at = utcnow()
    pid = _kill_mid_job(service.env, holds_lock)
    # The dead holder's lock row is still there: the next run must take it over, not skip.
    assert holds_lock()
    _rerun_completes(service.env, url, pid, killed_at)
