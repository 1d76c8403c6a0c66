"""The SQL behind GET /problems: keyset pages for every role and filter, scopes that keep their
meaning in the planner-friendly shapes, and (on PostgreSQL) plans that reach the list indexes
(bench/list_scale.py measures the same at 1,000,000 problems)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.org.models import CadreLink
from service_app.problems import service
from service_app.problems.models import Problem, ProblemEvent
from tests.conftest import count_queries
from tests.factories_problems import file, make_world, problem_in
from tests.helpers import auth_headers

API = "/api/v1/problems"
FILTERS = {
    "none": {},
    "status": {"status": "in_progress,dispatched,submitted"},
    "category": "category",
    "department": "department",
    "enterprise": "enterprise",
    "overdue": {"overdue": "true"},
    "not overdue": {"overdue": "false"},
    "supervised": {"supervised": "true"},
    "not supervised": {"supervised": "false"},
    "updated_since": "updated_since",
    "q": {"q": "路灯"},
}


@pytest.fixture
def world(app_ctx):
    return make_world()


def recorded(app):
    """(statement, parameters) of every SQL statement the app sends inside the block."""
    return count_queries(app, with_parameters=True)


def _page_statement(seen: list[tuple[str, object]]) -> tuple[str, object]:
    pages = [(s, p) for s, p in seen if "FROM problems" in s and "ORDER BY" in s]
    assert len(pages) == 1, [s for s, _ in seen]
    return pages[0]


def _offset(statement: str, parameters) -> int:
    """The OFFSET the statement skips: SQLite's compiler writes `LIMIT ? OFFSET ?` for every limit
    (its last parameter), PostgreSQL's writes no OFFSET at all when there is none."""
    if "OFFSET" not in statement.upper():
        return 0
    assert statement.rstrip().upper().endswith("OFFSET ?"), statement
    return parameters[-1]


def _params(world, name: str) -> dict:
    value = FILTERS[name]
    if value == "category":
        return {"category_id": world.category.id}
    if value == "department":
        return {"department_id": world.department.id}
    if value == "enterprise":
        return {"enterprise_id": world.enterprise.id}
    if value == "updated_since":
        return {"updated_since": (utcnow() - timedelta(days=1)).isoformat()}
    return value


def _fill(world) -> None:
    """Problems in several states, one supervised and one overdue, so that every filter has rows."""
    for state in ("submitted", "accepted", "dispatched", "in_progress", "in_progress", "resolved"):
        problem_in(world, state)
    service.perform(world.manager, problem_in(world, "in_progress"), "supervise")
    file(world, now=utcnow() - timedelta(days=10))  # past its 72 h deadline


@pytest.mark.parametrize("filter_name", list(FILTERS))
@pytest.mark.parametrize("who", ["owner", "cadre", "staff", "manager"])
def test_every_role_and_filter_pages_by_keyset_not_offset(client, world, app, who, filter_name):
    _fill(world)
    headers = auth_headers(client, getattr(world, who))
    params = {**_params(world, filter_name), "limit": 1}
    listed, cursor, statements = [], None, []
    while True:
        with recorded(app) as seen:
            response = client.get(
                API, query_string={**params, **({"cursor": cursor} if cursor else {})}, headers=headers
            )
        assert response.status_code == 200, response.get_json()
        statements.append(_page_statement(seen))
        listed += [item["id"] for item in response.get_json()["items"]]
        cursor = response.get_json()["next_cursor"]
        if cursor is None:
            break
    everything = client.get(API, query_string={**params, "limit": 100}, headers=headers).get_json()["items"]
    assert listed == [item["id"] for item in everything] == sorted(listed, reverse=True)
    for number, (statement, parameters) in enumerate(statements):
        assert _offset(statement, parameters) == 0
        assert "ORDER BY problems.id DESC" in statement and "LIMIT" in statement
        # Every page after the first starts strictly below the last id served.
        assert ("problems.id <" in statement) == (number > 0)


def test_callers_of_one_shape_share_a_statement_and_each_sees_its_own(client, world):
    """The page statement is built once per shape of caller with the caller's ids bound: one after
    the other, callers of the same role (and filters) each get their own scope, never the last one's."""
    ours = problem_in(world, "dispatched")
    theirs = file(world, by=world.outsider)
    expected = [
        (world.owner, {ours}), (world.outsider, {theirs}), (world.cadre, {ours}), (world.other_cadre, {theirs}),
        (world.staff, {ours}), (world.other_staff, set()), (world.owner, {ours}),
    ]
    for query in ({}, {"status": "dispatched,submitted"}):
        for user, ids in expected:
            headers = auth_headers(client, user)
            items = client.get(API, query_string=query, headers=headers).get_json()["items"]
            assert {item["id"] for item in items} == ids, (user.username, query)
            for problem_id in {ours, theirs}:
                status = client.get(f"{API}/{problem_id}", headers=headers).status_code
                assert status == (200 if problem_id in ids else 404), (user.username, problem_id)


def test_a_department_keeps_what_it_was_sent_through_reassignment_and_return(client, world):
    pid = problem_in(world, "dispatched")
    service.perform(world.manager, pid, "dispatch", department_id=world.other_department.id)  # reassigned

    def listed(user) -> set[int]:
        return {item["id"] for item in client.get(API, headers=auth_headers(client, user)).get_json()["items"]}

    assert pid in listed(world.staff) and pid in listed(world.other_staff)
    service.perform(world.other_staff, pid, "return", reason_code="wrong_department", reason="不属于本部门")
    assert pid in listed(world.staff) and pid in listed(world.other_staff)
    # Filtering by the current department still means "now": nobody holds it after the return.
    manager = auth_headers(client, world.manager)
    for department in (world.department, world.other_department):
        assert client.get(API, query_string={"department_id": department.id}, headers=manager).get_json()["items"] == []


def test_a_problem_at_a_department_always_has_its_dispatch_row(world):
    """What `scoping.dispatched_to` relies on to drop `OR problems.department_id = …`."""
    pid = problem_in(world, "dispatched")

    def holds() -> bool:
        problem = db.session.get(Problem, pid)
        db.session.refresh(problem)
        rows = db.session.scalars(
            sa.select(ProblemEvent.department_id).where(
                ProblemEvent.problem_id == pid, ProblemEvent.department_id.is_not(None)
            )
        )
        return problem.department_id is None or problem.department_id in set(rows)

    steps = [
        (world.manager, "dispatch", {"department_id": world.other_department.id}),  # reassigned
        (world.other_staff, "return", {"reason_code": "wrong_department", "reason": "不属于本部门"}),
        (world.cadre, "dispatch", {}),
        (world.staff, "claim", {}),
        (world.staff, "resolve", {"resolution": "已处理"}),
    ]
    assert holds()
    for actor, action, body in steps:
        service.perform(actor, pid, action, **body)
        assert holds(), action
    with pytest.raises(sa.exc.IntegrityError):  # only a dispatch row may name a department
        with db.session.begin_nested():
            db.session.add(ProblemEvent(problem_id=pid, action="comment", department_id=world.department.id, note="x"))


def test_a_cadre_keeps_the_problems_it_handles_after_its_link_ends(client, world):
    handled = problem_in(world, "accepted")  # the cadre accepted it: it is the handler
    waiting = file(world)
    link = db.session.scalar(sa.select(CadreLink).where(CadreLink.cadre_id == world.cadre.id))
    link.ended_at = utcnow()
    db.session.commit()
    items = client.get(API, headers=auth_headers(client, world.cadre)).get_json()["items"]
    assert [item["id"] for item in items] == [handled]
    assert waiting not in {item["id"] for item in items}


def _plan(statement: str, parameters) -> dict:
    """The plan of `statement` when only bitmap index scans are allowed: on a handful of rows the
    planner would rightly read the whole table, so this asks which indexes it *can* use."""
    connection = db.session.connection()
    connection.exec_driver_sql("ANALYZE problems, problem_events")  # rolled back with the test
    switches = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
    for switch in switches:
        connection.exec_driver_sql(f"SET LOCAL {switch} = off")
    try:
        row = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
    finally:
        for switch in switches:
            connection.exec_driver_sql(f"RESET {switch}")
    return (json.loads(row) if isinstance(row, str) else row)[0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


NAME_TABLES = {"enterprises", "categories", "departments", "users"}


def _scope_subplans(plan: dict) -> list[dict]:
    """Subplans other than a name read by primary key (`(SELECT name FROM users WHERE id = …)`)."""
    def name_read(subplan: dict) -> bool:
        nodes = list(_nodes(subplan))
        indexes = {node["Index Name"] for node in nodes if "Index Name" in node}
        relations = {node["Relation Name"] for node in nodes if "Relation Name" in node}
        return relations <= NAME_TABLES and len(relations) == 1 and all(i.startswith("pk_") for i in indexes)

    return [node for node in _nodes(plan) if node.get("Subplan Name") and not name_read(node)]


@pytest.mark.parametrize(
    "who, params, index",
    [
        ("manager", {"overdue": "true"}, "ix_problems_open_id_due_at"),
        ("manager", {"supervised": "true"}, "ix_problems_supervised_id"),
        ("cadre", {}, "ix_problems_handler_id_id"),
        ("staff", {}, "ix_problem_events_department_id_problem_id"),
    ],
)
def test_postgresql_can_answer_each_page_from_its_index(client, world, app, backend_name, who, params, index):
    """Shape, not speed: the statement the service sends lets PostgreSQL use the index meant for it
    (literal open statuses, `supervised = true`, literal linked enterprises, EXISTS alone), and no
    scope is left as a subplan evaluated against every problem. The only subplans are the item's
    names, each a primary-key read of the table it names (run for the page's rows only)."""
    if backend_name != "postgresql":
        pytest.skip("PostgreSQL plans")
    _fill(world)
    with recorded(app) as seen:
        response = client.get(
            API, query_string={**params, "limit": 2}, headers=auth_headers(client, getattr(world, who))
        )
    assert response.status_code == 200 and response.get_json()["items"]
    if index == "ix_problems_open_id_due_at":
        # The full (status, due_at) index serves the same literal statuses; on the few rows of a test the
        # planner may prefer it, which would hide whether the partial index's predicate is provable. The
        # drop is rolled back with the test.
        db.session.connection().exec_driver_sql("DROP INDEX ix_problems_status_due_at")
    plan = _plan(*_page_statement(seen))
    assert index in {node.get("Index Name") for node in _nodes(plan)}, json.dumps(plan, indent=1)
    assert not _scope_subplans(plan), json.dumps(plan, indent=1)
