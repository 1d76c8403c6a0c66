"""Real concurrency on PostgreSQL: two requests at once, each in its own thread, app context and
database connection. The first request is held inside its transaction until the second is seen
waiting for a lock, so the tests prove the lock is taken (without one, both would win)."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
import sqlalchemy as sa

from service_app.extensions import db
from service_app.problems import workflow
from tests.factories_problems import make_world, problem_in
from tests.helpers import auth_headers

pytestmark = pytest.mark.committing

API = "/api/v1/problems"


@pytest.fixture
def postgres_only(backend):
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL row locks; on SQLite the database-wide write lock serialises writers anyway")


@pytest.fixture
def committed_world(app, postgres_only):
    """A world committed for real (other connections must see it), deleted afterwards."""
    with app.app_context():
        counters = {
            row.day: row.last_number
            for row in db.session.execute(sa.text("SELECT day, last_number FROM problem_code_counters"))
        }
        world = make_world()
        db.session.commit()
        for obj in vars(world).values():  # load every attribute: the objects outlive this session
            db.session.refresh(obj)
    yield world
    with app.app_context():
        _delete_world(world, counters)


def _delete_world(world, counters: dict[date, int]) -> None:
    people = (world.owner, world.cadre, world.staff, world.lead, world.colleague, world.manager, world.other_staff)
    users = [u.id for u in (*people, world.outsider, world.other_cadre)]
    enterprises = [world.enterprise.id, world.outsider.enterprise_id]
    params = {"users": users, "enterprises": enterprises}
    problems = "SELECT id FROM problems WHERE enterprise_id = ANY(:enterprises)"
    for statement in (
        f"DELETE FROM notifications WHERE user_id = ANY(:users) OR problem_id IN ({problems})",
        f"DELETE FROM problem_events WHERE problem_id IN ({problems})",
        f"DELETE FROM ratings WHERE problem_id IN ({problems})",
        "DELETE FROM problems WHERE enterprise_id = ANY(:enterprises)",
        "DELETE FROM idempotency_keys WHERE user_id = ANY(:users)",
        "DELETE FROM auth_sessions WHERE user_id = ANY(:users)",
        "DELETE FROM cadre_links WHERE enterprise_id = ANY(:enterprises)",
        "DELETE FROM users WHERE id = ANY(:users)",
        "DELETE FROM enterprises WHERE id = ANY(:enterprises)",
        "DELETE FROM categories WHERE id = :category",
        "DELETE FROM departments WHERE id = ANY(:departments)",
    ):
        db.session.execute(
            sa.text(statement),
            {**params, "category": world.category.id, "departments": [world.department.id, world.other_department.id]},
        )
    db.session.execute(sa.text("DELETE FROM problem_code_counters"))
    for day, number in counters.items():
        db.session.execute(
            sa.text("INSERT INTO problem_code_counters (day, last_number) VALUES (:day, :n)"), {"day": day, "n": number}
        )
    db.session.commit()


def _lock_waiters(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def _race(app, monkeypatch, requests: dict[str, callable]) -> dict[str, object]:
    """Run two requests in threads; "first" pauses inside its transaction until "second" waits on a lock."""
    first_holds, second_waits = threading.Event(), threading.Event()
    real_transition = workflow.transition

    def held_transition(*args, **kwargs):
        event = real_transition(*args, **kwargs)
        if threading.current_thread().name == "first":
            first_holds.set()
            second_waits.wait(timeout=10)
        return event

    monkeypatch.setattr(workflow, "transition", held_transition)
    results: dict[str, object] = {}

    def run(name):
        with app.app_context():
            results[name] = requests[name]()

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert first_holds.wait(timeout=10), "the first request never reached its transition"
    second = threading.Thread(target=run, args=("second",), name="second")
    second.start()
    with app.app_context():
        deadline = time.monotonic() + 10
        while _lock_waiters(db.engine) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        waited = _lock_waiters(db.engine) > 0
    second_waits.set()
    first.join(20)
    second.join(20)
    results["second_waited"] = waited
    return results


def test_two_claims_at_once_exactly_one_wins(app, committed_world, monkeypatch):
    world = committed_world
    with app.app_context():
        problem_id = problem_in(world, "dispatched")
        staff_headers = auth_headers(app.test_client(), world.staff)
    claim = lambda: app.test_client().post(f"{API}/{problem_id}/claim", headers=staff_headers)  # noqa: E731
    results = _race(app, monkeypatch, {"first": claim, "second": claim})
    assert results["second_waited"], "the second claim never waited for the row lock"
    assert (results["first"].status_code, results["second"].status_code) == (200, 409)
    assert results["second"].get_json()["current_status"] == "in_progress"
    with app.app_context():
        claims = db.session.execute(
            sa.text("SELECT count(*) FROM problem_events WHERE problem_id = :id AND action = 'claim'"),
            {"id": problem_id},
        ).scalar_one()
    assert claims == 1


def test_two_filings_at_once_get_distinct_codes(app, committed_world, monkeypatch):
    world = committed_world
    with app.app_context():
        headers = auth_headers(app.test_client(), world.owner)
    body = {"title": "同时反映的问题", "description": "两台手机同时提交", "category_id": world.category.id}
    filing = lambda: app.test_client().post(API, json=body, headers=headers)  # noqa: E731
    results = _race(app, monkeypatch, {"first": filing, "second": filing})
    assert results["second_waited"], "the second filing never waited for the day's counter"
    assert [results[name].status_code for name in ("first", "second")] == [201, 201]
    codes = sorted(results[name].get_json()["code"] for name in ("first", "second"))
    assert codes[0] != codes[1]
    assert int(codes[1][-4:]) == int(codes[0][-4:]) + 1


def test_two_ratings_at_once_exactly_one_counts(app, committed_world, monkeypatch):
    world = committed_world
    with app.app_context():
        problem_id = problem_in(world, "resolved")
        headers = auth_headers(app.test_client(), world.owner)
    def rate(score: int):
        return lambda: app.test_client().post(f"{API}/{problem_id}/rating", json={"score": score}, headers=headers)

    results = _race(app, monkeypatch, {"first": rate(5), "second": rate(1)})
    assert results["second_waited"], "the second rating never waited for the row lock"
    assert (results["first"].status_code, results["second"].status_code) == (201, 409)
    with app.app_context():
        ratings = (
            db.session.execute(sa.text("SELECT score FROM ratings WHERE problem_id = :id"), {"id": problem_id})
            .scalars()
            .all()
        )
        status = db.session.execute(
            sa.text("SELECT status FROM problems WHERE id = :id"), {"id": problem_id}
        ).scalar_one()
    assert ratings == [5] and status == "closed"


def test_two_retries_with_one_idempotency_key_file_one_problem(app, committed_world, monkeypatch):
    world = committed_world
    with app.app_context():
        headers = {**auth_headers(app.test_client(), world.owner), "Idempotency-Key": "retry-race-1"}
    body = {"title": "弱网重试的问题", "description": "手机在弱网下重复提交", "category_id": world.category.id}
    filing = lambda: app.test_client().post(API, json=body, headers=headers)  # noqa: E731
    results = _race(app, monkeypatch, {"first": filing, "second": filing})
    assert results["second_waited"], "the retry never waited for the first request's key"
    first, second = results["first"], results["second"]
    assert first.status_code == 201
    # The retry waited on the key's row until the first request's COMMIT, which stored the answer with
    # the problem: it replays that answer, never "in progress" (409).
    assert (second.status_code, second.headers.get("Idempotent-Replayed")) == (201, "true"), second.get_json()
    assert second.get_data() == first.get_data() and second.headers["ETag"] == first.headers["ETag"]
    with app.app_context():
        filed = db.session.execute(
            sa.text("SELECT count(*) FROM problems WHERE title = :t"), {"t": body["title"]}
        ).scalar_one()
    assert filed == 1
