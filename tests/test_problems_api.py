"""The problem endpoints over HTTP: the acceptance path, roles and scopes, the 409 body, ETags,
idempotent filing, list filters, pagination and the fixed number of SQL statements per page."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.problems import service
from service_app.problems.models import Problem
from tests.conftest import count_queries
from tests.factories import AdminFactory, CategoryFactory
from tests.factories_files import JPEG
from tests.factories_problems import file, make_world, problem_in
from tests.helpers import assert_error

API = "/api/v1/problems"
NEW = {"title": "园区路灯不亮", "description": "东门至三号厂房路灯已坏一周", "urgent": False}


@pytest.fixture
def world(app_ctx):
    return make_world()


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_acceptance_path_with_the_right_people_only(client, world, headers):
    created = client.post(API, json={**NEW, "category_id": world.category.id}, headers=headers(world.owner))
    assert created.status_code == 201, created.get_json()
    problem = created.get_json()
    pid = problem["id"]
    assert re.fullmatch(r"WT-\d{8}-\d{4}", problem["code"])
    assert (problem["status"], problem["status_label"], problem["status_label_en"]) == (
        "submitted",
        "待受理",
        "Submitted",
    )
    assert (problem["cadre_id"], problem["enterprise_name"], problem["category_label"]) == (
        world.cadre.id,
        world.enterprise.name,
        world.category.name,
    )
    assert created.headers["ETag"] == f'"{pid}-1"' and created.headers["Location"].endswith(f"{API}/{pid}")

    def post(action, user, body=None):
        return client.post(f"{API}/{pid}/{action}", json=body, headers=headers(user))

    assert_error(post("accept", world.owner), 403)
    assert_error(post("accept", world.staff), 403)
    assert_error(post("accept", world.other_cadre), 404)
    assert_error(post("claim", world.cadre), 403)
    refused = assert_error(post("dispatch", world.cadre), 409, "invalid_transition")
    assert (refused["current_status"], refused["allowed_actions"]) == ("submitted", ["accept", "reject", "comment"])

    accepted = client.post(f"{API}/{pid}/accept", headers=headers(world.cadre))  # no body at all
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["handler_name"] == world.cadre.name and accepted.get_json()["first_response_at"]
    dispatched = post("dispatch", world.cadre, {})
    assert (dispatched.get_json()["status"], dispatched.get_json()["department_name"]) == (
        "dispatched",
        world.department.name,
    )
    assert_error(post("claim", world.other_staff), 404)
    claimed = post("claim", world.staff)
    assert (claimed.get_json()["status"], claimed.get_json()["handler_id"]) == ("in_progress", world.staff.id)
    assert_error(post("resolve", world.owner, {"resolution": "x"}), 403)
    assert_error(post("resolve", world.cadre, {"resolution": "x"}), 403)
    resolved = post("resolve", world.staff, {"resolution": "已更换灯具"})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"
    late = assert_error(post("claim", world.staff), 409, "invalid_transition")
    assert (late["current_status"], late["allowed_actions"]) == ("resolved", ["comment"])

    seen = client.get(f"{API}/{pid}", headers=headers(world.owner)).get_json()
    assert (seen["status"], seen["resolution"], seen["allowed_actions"]) == (
        "resolved",
        "已更换灯具",
        ["rate", "comment"],
    )
    events = client.get(f"{API}/{pid}/events", headers=headers(world.owner)).get_json()
    assert [(e["action"], e["to_status"], e["actor_id"]) for e in events] == [
        ("submit", "submitted", world.owner.id),
        ("accept", "accepted", world.cadre.id),
        ("dispatch", "dispatched", world.cadre.id),
        ("claim", "in_progress", world.staff.id),
        ("resolve", "resolved", world.staff.id),
    ]
    assert events[2]["action_label"] == "派单" and events[2]["department_name"] == world.department.name


def test_roles_that_never_use_an_endpoint_get_403(client, world, headers):
    pid = file(world)
    admin = headers(AdminFactory())
    for method, url in [
        ("get", API),
        ("get", f"{API}/{pid}"),
        ("get", f"{API}/{pid}/events"),
        ("post", f"{API}/{pid}/comment"),
        ("post", f"{API}/{pid}/rating"),
    ]:
        assert_error(getattr(client, method)(url, json={} if method == "post" else None, headers=admin), 403)
    assert_error(client.post(API, json={**NEW, "category_id": world.category.id}, headers=admin), 403)
    assert_error(client.post(API, json={**NEW, "category_id": world.category.id}, headers=headers(world.staff)), 403)
    assert_error(client.post(API, json={**NEW, "category_id": world.category.id}, headers=headers(world.manager)), 403)
    assert_error(client.post(f"{API}/{pid}/rating", json={"score": 5}, headers=headers(world.cadre)), 403)
    assert_error(client.post(f"{API}/{pid}/supervise", headers=headers(world.cadre)), 403)
    assert_error(client.get(API), 401)


def test_invalid_input_is_422_and_the_409_speaks_english_on_request(client, world, headers):
    owner = headers(world.owner)
    bad = assert_error(
        client.post(API, json={**NEW, "category_id": world.category.id, "title": " ", "colour": "red"}, headers=owner),
        422,
    )
    assert set(bad["errors"]) == {"title", "colour"}
    assert_error(client.post(API, json={**NEW, "category_id": 999999}, headers=owner), 422)
    pid = problem_in(world, "dispatched")
    assert_error(
        client.post(f"{API}/{pid}/return", json={"reason_code": "lazy", "reason": "x"}, headers=headers(world.staff)),
        422,
    )
    assert_error(client.post(f"{API}/{pid}/return", json={"reason_code": "other"}, headers=headers(world.staff)), 422)
    assert_error(client.post(f"{API}/{pid}/rating", json={"score": "5"}, headers=owner), 422)
    english = assert_error(
        client.post(f"{API}/{pid}/accept", headers=headers(world.cadre, **{"Accept-Language": "en"})), 409
    )
    assert "not allowed" in english["message"] and english["current_status"] == "dispatched"
    assert "不允许" in assert_error(client.post(f"{API}/{pid}/accept", headers=headers(world.cadre)), 409)["message"]


def test_etag_304_and_412(client, world, headers):
    pid = file(world)
    cadre = headers(world.cadre)
    first = client.get(f"{API}/{pid}", headers=cadre)
    tag = first.headers["ETag"]
    assert tag == f'"{pid}-1"'
    cached = client.get(f"{API}/{pid}", headers={**cadre, "If-None-Match": tag})
    assert cached.status_code == 304 and cached.headers["ETag"] == tag and cached.get_data() == b""
    stale = client.post(f"{API}/{pid}/accept", headers={**cadre, "If-Match": f'"{pid}-0"'})
    assert_error(stale, 412, "precondition_failed")
    assert db.session.get(Problem, pid).status == "submitted"
    accepted = client.post(f"{API}/{pid}/accept", headers={**cadre, "If-Match": tag})
    assert accepted.status_code == 200 and accepted.headers["ETag"] == f'"{pid}-2"'
    assert client.get(f"{API}/{pid}", headers={**cadre, "If-None-Match": tag}).status_code == 200
    assert_error(client.post(f"{API}/{pid}/comment", json={"body": "旧版本"}, headers={**cadre, "If-Match": tag}), 412)
    assert client.post(f"{API}/{pid}/comment", json={"body": "无条件"}, headers=cadre).status_code == 200
    assert (
        client.post(f"{API}/{pid}/comment", json={"body": "任意版本"}, headers={**cadre, "If-Match": "*"}).status_code
        == 200
    )
    late = file(world, now=utcnow() - timedelta(days=30))  # its 3 working days long gone
    assert client.get(f"{API}/{late}", headers=cadre).headers["ETag"] == f'"{late}-1-overdue"'


def test_idempotent_filing_replays_and_refuses_another_body(client, world, headers):
    keyed = headers(world.owner, **{"Idempotency-Key": "file-1"})
    body = {**NEW, "category_id": world.category.id}
    def count() -> int:
        return db.session.scalar(select(func.count(Problem.id)).where(Problem.enterprise_id == world.enterprise.id))

    first = client.post(API, json=body, headers=keyed)
    again = client.post(API, json=dict(reversed(list(body.items()))), headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert count() == 1
    other = client.post(API, json={**body, "title": "另一个问题"}, headers=keyed)
    assert_error(other, 422, "idempotency_key_reused")
    assert client.post(API, json=body, headers=headers(world.owner, **{"Idempotency-Key": "file-2"})).status_code == 201
    assert count() == 2


def test_idempotent_rating(client, world, headers):
    pid = problem_in(world, "resolved")
    keyed = headers(world.owner, **{"Idempotency-Key": "rate-1"})
    first = client.post(f"{API}/{pid}/rating", json={"score": 4, "comment": "满意"}, headers=keyed)
    assert first.status_code == 201 and first.get_json()["status"] == "closed"
    assert first.get_json()["rating"]["score"] == 4 and first.get_json()["closed_reason"] == "rated"
    again = client.post(f"{API}/{pid}/rating", json={"score": 4, "comment": "满意"}, headers=keyed)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert_error(
        client.post(f"{API}/{pid}/rating", json={"score": 4}, headers=headers(world.owner)), 409, "invalid_transition"
    )


def test_every_role_sees_only_its_own_scope(client, world, headers):
    mine = problem_in(world, "dispatched")
    waiting = file(world)
    theirs = file(world, by=world.outsider)

    def listed(user):
        return set(_ids(client.get(API, headers=headers(user)))) & {mine, waiting, theirs}

    assert listed(world.owner) == listed(world.cadre) == {mine, waiting}
    assert listed(world.outsider) == listed(world.other_cadre) == {theirs}
    assert listed(world.staff) == {mine}
    assert listed(world.other_staff) == set()
    assert listed(world.manager) == {mine, waiting, theirs}
    for user, hidden in [
        (world.owner, theirs),
        (world.staff, waiting),
        (world.other_staff, mine),
        (world.other_cadre, mine),
    ]:
        assert_error(client.get(f"{API}/{hidden}", headers=headers(user)), 404)
        assert_error(client.get(f"{API}/{hidden}/events", headers=headers(user)), 404)
        assert_error(client.post(f"{API}/{hidden}/comment", json={"body": "?"}, headers=headers(user)), 404)
    assert_error(client.post(f"{API}/{theirs}/rating", json={"score": 5}, headers=headers(world.owner)), 404)
    # After a return the department still sees what it was sent, and its timeline.
    client.post(
        f"{API}/{mine}/return", json={"reason_code": "wrong_area", "reason": "不在本片区"}, headers=headers(world.staff)
    )
    assert listed(world.staff) == {mine}
    assert client.get(f"{API}/{mine}", headers=headers(world.staff)).get_json()["status"] == "accepted"
    assert client.get(f"{API}/{mine}/events", headers=headers(world.staff)).get_json()[-1]["reason_label"] == "属地不符"


def test_enterprises_never_see_internal_comments(client, world, headers):
    pid = problem_in(world, "in_progress")
    assert (
        client.post(
            f"{API}/{pid}/comment", json={"body": "内部：需区财政支持", "internal": True}, headers=headers(world.staff)
        ).status_code
        == 200
    )
    assert (
        client.post(f"{API}/{pid}/comment", json={"body": "请问进度如何"}, headers=headers(world.owner)).status_code
        == 200
    )
    assert_error(
        client.post(f"{API}/{pid}/comment", json={"body": "x", "internal": True}, headers=headers(world.owner)), 403
    )
    def notes(user) -> list[str]:
        events = client.get(f"{API}/{pid}/events", headers=headers(user)).get_json()
        return [e["note"] for e in events if e["action"] == "comment"]

    assert notes(world.owner) == ["请问进度如何"]
    assert notes(world.manager) == notes(world.cadre) == ["内部：需区财政支持", "请问进度如何"]
    assert "内部" not in client.get(f"{API}/{pid}/events", headers=headers(world.owner)).get_data(as_text=True)


def test_list_items_and_filters(client, world, headers):
    other_category = CategoryFactory(default_department=world.other_department)
    submitted = file(world)
    urgent_late = file(world, urgent=True, now=utcnow() - timedelta(days=30))  # urgent: due after 2 working days
    dispatched = problem_in(world, "dispatched", category_id=other_category.id)
    working = problem_in(world, "in_progress")
    service.perform(world.manager, working, "supervise")
    theirs = file(world, by=world.outsider)
    manager = headers(world.manager)

    def query(**params):
        params.setdefault("enterprise_id", world.enterprise.id)
        return _ids(client.get(API, query_string=params, headers=manager))

    assert query() == [working, dispatched, urgent_late, submitted]
    assert query(status="submitted") == [urgent_late, submitted]
    assert query(status="dispatched,in_progress") == [working, dispatched]
    assert query(category_id=other_category.id) == [dispatched]
    assert query(department_id=world.department.id) == [working]
    assert query(overdue="true") == [urgent_late]
    assert query(overdue="false") == [working, dispatched, submitted]
    assert query(supervised="true") == [working]
    assert query(q="路灯") == [working, dispatched, urgent_late, submitted]
    assert query(q="没有这个") == []
    assert query(enterprise_id=world.outsider.enterprise_id) == [theirs]
    since = db.session.get(Problem, working).updated_at
    assert query(updated_since=since.isoformat()) == [working]
    assert_error(client.get(API, query_string={"status": "lost"}, headers=manager), 422)
    item = client.get(API, query_string={"enterprise_id": world.enterprise.id}, headers=manager).get_json()["items"][0]
    assert {
        k: item[k]
        for k in (
            "status",
            "status_label",
            "status_label_en",
            "category_label",
            "enterprise_name",
            "department_name",
            "handler_name",
            "supervised",
            "overdue",
        )
    } == {
        "status": "in_progress",
        "status_label": "办理中",
        "status_label_en": "In progress",
        "category_label": world.category.name,
        "enterprise_name": world.enterprise.name,
        "department_name": world.department.name,
        "handler_name": world.staff.name,
        "supervised": True,
        "overdue": False,
    }
    assert item["due_at"].endswith("+00:00") and "description" not in item


def test_pages_have_no_gaps_or_repeats_while_problems_arrive(client, world, headers, app, monkeypatch):
    original = [file(world) for _ in range(7)]
    manager = headers(world.manager)
    params = {"enterprise_id": world.enterprise.id, "limit": 3}
    seen, cursor, pages = [], None, 0
    while True:
        page = client.get(
            API, query_string={**params, **({"cursor": cursor} if cursor else {})}, headers=manager
        ).get_json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        file(world)  # a new problem between every two pages
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(original, reverse=True) and pages == 3
    assert_error(client.get(API, query_string={"cursor": "not-a-cursor"}, headers=manager), 422)
    monkeypatch.setitem(app.config, "PAGE_SIZE_MAX", 2)
    assert len(_ids(client.get(API, query_string={**params, "limit": 1000}, headers=manager))) == 2


@pytest.mark.parametrize("who", ["manager", "cadre", "staff", "owner"])
def test_a_page_costs_the_same_statements_for_5_or_50_problems(client, world, headers, app, who):
    states = ["in_progress", "dispatched", "resolved", "submitted", "accepted"]
    user = headers(getattr(world, who))

    def statements() -> int:
        with count_queries(app) as seen:
            response = client.get(API, query_string={"limit": 100}, headers=user)
        assert response.status_code == 200
        return len(seen), len(response.get_json()["items"])

    for i in range(5):
        problem_in(world, states[i % 5])
    small, listed_small = statements()
    for i in range(45):
        problem_in(world, states[i % 5])
    large, listed_large = statements()
    assert listed_large > listed_small >= (2 if who == "staff" else 5)
    assert small == large <= 3  # the session check, a cadre's linked enterprises, the page


def test_an_idempotent_filing_costs_two_statements_more_and_its_replay_three(client, world, headers, app, backend_name):
    """The key is taken in the filing's transaction by one statement (no read before it) and the answer
    recorded by one UPDATE in that same transaction, before its one COMMIT; a retry is the session
    check, the key's claim and its read."""
    user = {**headers(world.owner), "Idempotency-Key": "file-once"}
    body = {**NEW, "category_id": world.category.id}
    db.session.commit()  # the test shares the request's session: the request begins its own transaction
    with count_queries(app, transactions=True) as seen:
        created = client.post(API, json=body, headers=user)
    assert created.status_code == 201, created.get_json()
    seen = [statement for statement in seen if "FROM calendar_days" not in statement]
    # BEGIN, session check, the key, the filing's read, the code, the problem, its timeline row, the
    # notices, the recorded answer, COMMIT: 10 round trips; on PostgreSQL the problem, its timeline row
    # and its notices are one statement (`transactions.chain`): 8. It was 2 more while the answer was
    # recorded after the filing's COMMIT, in a second transaction (BEGIN, the UPDATE, COMMIT again).
    expected = 8 if backend_name == "postgresql" else 10
    assert len(seen) == expected and (seen[0], seen[-1]) == ("BEGIN", "COMMIT"), "\n".join(s[:90] for s in seen)
    assert seen.count("BEGIN") == seen.count("COMMIT") == 1
    with count_queries(app) as seen:
        again = client.post(API, json=body, headers=user)
    assert again.get_json() == created.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(seen) == 3, seen


@pytest.mark.parametrize("who", ["owner", "cadre"])
def test_filing_answers_what_a_get_reads_afterwards_in_few_statements(client, world, headers, app, who, backend_name):
    """The 201 is built from what the filing wrote (no re-read after the commit): it must equal the
    detail read back, attachments, names and allowed actions included."""
    user = headers(getattr(world, who))
    photos = [
        client.post(
            "/api/v1/attachments", data={"file": (io.BytesIO(JPEG), f"p{i}.jpg", "image/jpeg")}, headers=user,
            content_type="multipart/form-data",
        ).get_json()["id"]
        for i in range(2)
    ]
    body = {**NEW, "category_id": world.category.id, "enterprise_id": world.enterprise.id}
    body["attachment_ids"] = photos[::-1]
    with count_queries(app) as seen:
        created = client.post(API, json=body, headers=user)
    assert created.status_code == 201, created.get_json()
    read = client.get(f"{API}/{created.get_json()['id']}", headers=user)
    assert created.get_json() == read.get_json() and created.headers["ETag"] == read.headers["ETag"]
    assert [a["id"] for a in created.get_json()["attachments"]] == sorted(photos)
    # session check, the enterprise (for a cadre: whether it is linked) with its cadre's name, the
    # category and the calendar's revision, the code, the problem (INSERT … RETURNING id), its
    # timeline row, the notices with their recipients (one INSERT … SELECT), the attachments claimed
    # (read, updated); nothing after the commit. The calendar's days are read once per revision and
    # process, so not counted. On PostgreSQL the problem, its timeline row and the notices are one
    # statement (`transactions.chain`: a data-modifying WITH).
    seen = [statement for statement in seen if "FROM calendar_days" not in statement]
    assert len(seen) == (6 if backend_name == "postgresql" else 8), "\n".join(s[:90] for s in seen)
