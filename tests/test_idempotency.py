"""`Idempotency-Key`: the key, the creation and the recorded answer are one transaction, ended by one
COMMIT (`common.transactions.one_commit`), so there is no moment at which the creation is stored and
its answer is not; a failure anywhere leaves neither behind. The replay itself, another body (422)
and key expiry are tested in test_shared_mechanisms.py and with each endpoint's tests."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service_app.attachments.models import Attachment
from service_app.common.models import IdempotencyKey
from service_app.common.transactions import commit, commit_and_keep, one_commit
from service_app.extensions import db
from service_app.org.models import Park
from service_app.problems.models import Problem
from service_app.visits.models import Visit
from tests.conftest import count_queries
from tests.factories_files import JPEG
from tests.factories_problems import make_world, problem_in
from tests.factories_visits import pair

API = "/api/v1/problems"
NEW = {"title": "幂等键与问题同一事务", "description": "重试不重复、不丢答复", "urgent": False}
REPLAYED = ("ETag", "Location", "Content-Type")


@pytest.fixture
def world(app_ctx):
    return make_world()


@contextmanager
def at_commit(event: str, action: Callable[[Session], None]):
    """Call `action(session)` at the session event `event` ("before_commit", "after_commit") of every
    commit in the block."""
    sa.event.listen(Session, event, action)
    try:
        yield
    finally:
        sa.event.remove(Session, event, action)


def key_row(user_id: int, key: str) -> IdempotencyKey | None:
    db.session.expire_all()
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


def problems_titled(title: str) -> int:
    return db.session.scalar(select(func.count(Problem.id)).where(Problem.title == title))


def _filing(world, headers):
    return API, {"json": {**NEW, "category_id": world.category.id}}, headers(world.owner)


def _rating(world, headers):
    return f"{API}/{problem_in(world, 'resolved')}/rating", {"json": {"score": 4}}, headers(world.owner)


def _check_in(world, headers):
    link = pair()
    enterprise = link.enterprise
    body = {"enterprise_id": enterprise.id, "lat": enterprise.lat, "lng": enterprise.lng, "accuracy_m": 9}
    return "/api/v1/visits/check-in", {"json": body}, headers(link.cadre)


def _upload(world, headers):
    data = {"file": (io.BytesIO(JPEG), "p.jpg", "image/jpeg")}
    return "/api/v1/attachments", {"data": data, "content_type": "multipart/form-data"}, headers(world.owner)


@pytest.mark.parametrize("endpoint", [_filing, _rating, _check_in, _upload], ids=lambda e: e.__name__[1:])
def test_a_keyed_create_is_one_transaction_whose_commit_holds_the_answer(client, world, headers, app, endpoint):
    """Every `@idempotent` endpoint: one BEGIN, the recorded answer before the one COMMIT (no second
    transaction for it), the key row holding the answer byte for byte, and a replay answering it."""
    url, body, user = endpoint(world, headers)
    keyed = {**user, "Idempotency-Key": f"one-{endpoint.__name__}"}
    db.session.commit()  # the test shares the requests' session: the request begins its own transaction
    with count_queries(app, transactions=True) as seen:
        created = client.post(url, headers=keyed, **body)
    assert created.status_code == 201, created.get_json()
    assert (seen.count("BEGIN"), seen.count("COMMIT"), seen[-1]) == (1, 1, "COMMIT"), seen
    assert seen[-2].lstrip().upper().startswith("UPDATE IDEMPOTENCY_KEYS"), seen
    row = key_row(user_id=client.get("/api/v1/me", headers=user).get_json()["id"], key=keyed["Idempotency-Key"])
    assert (row.response_status, row.response_body) == (201, created.get_data(as_text=True))
    assert row.response_headers == {name: created.headers[name] for name in REPLAYED if name in created.headers}
    url, body, _ = endpoint(world, headers) if endpoint is _upload else (url, body, user)  # a fresh file stream
    again = client.post(url, headers=keyed, **body)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.get_data() == created.get_data()
    assert all(again.headers.get(name) == created.headers.get(name) for name in REPLAYED)


def test_without_a_key_the_services_commit_as_before(client, world, headers, app):
    """No key: the service's own COMMIT, the key's two statements fewer, nothing else changed."""
    user, body = headers(world.owner), {**NEW, "category_id": world.category.id}
    db.session.commit()  # the test shares the requests' session: each request begins its own transaction
    with count_queries(app, transactions=True) as keyed:
        client.post(API, json=body, headers={**user, "Idempotency-Key": "k"})
    with count_queries(app, transactions=True) as plain:
        created = client.post(API, json=body, headers=user)
    assert created.status_code == 201 and "Idempotent-Replayed" not in created.headers
    assert (plain.count("BEGIN"), plain.count("COMMIT"), plain[-1]) == (1, 1, "COMMIT")
    assert len(keyed) - len(plain) == 2 and plain[1].startswith("SELECT users.id")  # the session check
    assert not any("idempotency_keys" in statement for statement in plain)


def test_when_the_creation_is_committed_its_answer_is_too(client, world, headers):
    """The old crash window: the service committed the creation with the key, and the answer was
    recorded by a second transaction; a worker that died in between left the key "in progress" (409)
    for 24 h. Now, read at the request's first COMMIT (as another worker would see it from then on),
    the key already holds the answer, and a retry replays it."""
    keyed = headers(world.owner, **{"Idempotency-Key": "crash-window"})
    body = {**NEW, "category_id": world.category.id}
    seen_at_commit = []

    def look(_session):
        if not seen_at_commit:  # the first COMMIT: where the old code could have died
            connection = db.engines[None]  # the tests' connection: the committed state, nothing pending
            row = connection.execute(
                select(IdempotencyKey.response_status, IdempotencyKey.response_body, func.count(Problem.id))
                .select_from(IdempotencyKey)
                .outerjoin(Problem, Problem.title == NEW["title"])
                .where(IdempotencyKey.key == "crash-window")
                .group_by(IdempotencyKey.response_status, IdempotencyKey.response_body)
            ).one()
            seen_at_commit.append(tuple(row))

    with at_commit("after_commit", look):
        created = client.post(API, json=body, headers=keyed)
    assert created.status_code == 201
    assert seen_at_commit == [(201, created.get_data(as_text=True), 1)]
    retry = client.post(API, json=body, headers=keyed)
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (201, "true"), retry.get_json()
    assert retry.get_data() == created.get_data() and problems_titled(NEW["title"]) == 1


def test_a_failed_commit_keeps_neither_the_creation_nor_the_key(client, world, headers):
    """At the COMMIT the answer is already in the key's row (the same transaction); when that COMMIT
    fails, the problem and the key go together, and a retry with the key files for real."""
    keyed = headers(world.owner, **{"Idempotency-Key": "commit-fails"})
    body = {**NEW, "category_id": world.category.id}
    at_the_commit = []

    def refuse(session):
        row = session.connection().execute(
            select(IdempotencyKey.response_status).where(IdempotencyKey.key == "commit-fails")
        )
        at_the_commit.append(row.scalar_one())
        raise RuntimeError("the database refused the COMMIT")

    with at_commit("before_commit", refuse):
        failed = client.post(API, json=body, headers=keyed)
    assert failed.status_code == 500 and at_the_commit == [201]
    assert problems_titled(NEW["title"]) == 0 and key_row(world.owner.id, "commit-fails") is None
    retry = client.post(API, json=body, headers=keyed)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert problems_titled(NEW["title"]) == 1


def test_a_refused_creation_leaves_no_key_and_its_retry_runs(client, world, headers):
    """A 4xx raised by the service (rating a problem not yet resolved) is not recorded and takes the
    key with it: the same request sent again once the problem is resolved rates it."""
    problem_id = problem_in(world, "in_progress")
    keyed = headers(world.owner, **{"Idempotency-Key": "rate-too-early"})
    early = client.post(f"{API}/{problem_id}/rating", json={"score": 5}, headers=keyed)
    assert early.status_code == 409 and key_row(world.owner.id, "rate-too-early") is None
    resolved = client.post(f"{API}/{problem_id}/resolve", json={"resolution": "已修好"}, headers=headers(world.staff))
    assert resolved.status_code == 200, resolved.get_json()
    rated = client.post(f"{API}/{problem_id}/rating", json={"score": 5}, headers=keyed)
    assert rated.status_code == 201 and "Idempotent-Replayed" not in rated.headers
    assert rated.get_json()["status"] == "closed" and key_row(world.owner.id, "rate-too-early").response_status == 201


def test_a_keyed_upload_whose_commit_fails_removes_its_file(client, world, headers, app):
    """The upload's file is stored before its row: when the one COMMIT fails, the row, the key and the
    file go (the service's undo step runs after the wrapper's rollback)."""
    directory = app.config["ATTACHMENT_DIR"]

    def files() -> int:
        return sum(len(names) for _path, _dirs, names in os.walk(directory))

    before, rows = files(), db.session.scalar(select(func.count(Attachment.id)))
    keyed = headers(world.owner, **{"Idempotency-Key": "upload-commit-fails"})

    def refuse(_session):
        raise RuntimeError("the database refused the COMMIT")

    with at_commit("before_commit", refuse):
        failed = client.post(
            "/api/v1/attachments", data={"file": (io.BytesIO(JPEG), "p.jpg", "image/jpeg")}, headers=keyed,
            content_type="multipart/form-data",
        )
    assert failed.status_code == 500
    assert files() == before and db.session.scalar(select(func.count(Attachment.id))) == rows
    assert key_row(world.owner.id, "upload-commit-fails") is None


def test_one_commit_defers_the_services_commits_and_refuses_a_direct_one(app_ctx):
    """Inside `one_commit` the services' commits flush (and expire, as a commit would) and its end
    commits once; an exception rolls back and runs the undo steps; a bare Session.commit is refused."""
    commits = []
    undone = []
    with at_commit("after_commit", lambda _session: commits.append(True)):
        with one_commit() as unit:
            park = Park(code="idem-one", name="一次提交")
            db.session.add(park)
            commit(undo=lambda: undone.append("never"))
            assert park.id is not None and not commits and unit.requested
            commit_and_keep()
            assert not commits
        assert commits == [True] and not undone
        with pytest.raises(ValueError), one_commit():
            db.session.add(Park(code="idem-two", name="回滚"))
            commit(undo=lambda: undone.append("file"))
            raise ValueError("the view failed after the service")
        assert undone == ["file"] and commits == [True]
        assert db.session.scalar(select(func.count(Park.id)).where(Park.code.like("idem-%"))) == 1
        with pytest.raises(RuntimeError, match="one_commit"), one_commit():
            db.session.add(Park(code="idem-three", name="直接提交"))
            db.session.commit()
        commit()  # outside one_commit: Session.commit, as ever
        assert len(commits) == 3


def test_nothing_is_recorded_for_an_answer_that_is_not_2xx(client, world, headers):
    """A check-in at an enterprise the cadre is not linked to is 404: nothing created, no key."""
    link, other = pair(), pair()
    keyed = headers(link.cadre, **{"Idempotency-Key": "not-linked"})
    body = {"enterprise_id": other.enterprise.id, "lat": 28.2, "lng": 112.9, "accuracy_m": 9}
    assert client.post("/api/v1/visits/check-in", json=body, headers=keyed).status_code == 404
    assert key_row(link.cadre.id, "not-linked") is None
    assert db.session.scalar(select(func.count(Visit.id)).where(Visit.cadre_id == link.cadre.id)) == 0
