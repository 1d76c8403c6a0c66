"""The notice table of DESIGN §9 walked row by row: each action performed by its actor through the
service, and the exact set of people told (and as which kind). Nobody hears of their own action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from service_app.auth.models import User
from service_app.common import transactions
from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.notifications.messages import render
from service_app.notifications.models import Notification
from service_app.problems import jobs, service, workflow
from service_app.problems.models import Problem, ProblemEvent
from tests.conftest import count_queries
from tests.factories import DepartmentUserFactory, EnterpriseUserFactory, LinkFactory, UserFactory
from tests.factories_problems import World, file, make_world, problem_in


@dataclass
class People:
    world: World
    coworker: User  # a second user of the enterprise
    leader: User  # a second cadre linked to it (role leader)
    staff2: User  # a second member of the department
    manager2: User

    def who(self, name: str) -> User:
        return getattr(self.world, name) if hasattr(self.world, name) else getattr(self, name)

    def ids(self, *names: str) -> set[int]:
        return {self.who(name).id for name in names}


@pytest.fixture
def people(app_ctx) -> People:
    world = make_world()
    found = People(
        world=world,
        coworker=EnterpriseUserFactory(enterprise=world.enterprise),
        leader=LinkFactory(enterprise=world.enterprise, role="leader").cadre,
        staff2=DepartmentUserFactory(department=world.department),
        manager2=UserFactory(),
    )
    db.session.commit()
    return found


def _last_id() -> int:
    return db.session.scalar(select(func.coalesce(func.max(Notification.id), 0)))


def _told_since(last_id: int) -> dict[str, set[int]]:
    told: dict[str, set[int]] = {}
    for notice in db.session.scalars(select(Notification).where(Notification.id > last_id)):
        told.setdefault(notice.kind, set()).add(notice.user_id)
        for lang in ("zh", "en"):  # every kind renders in both languages, with its parameters filled
            title, body = render(notice.kind, notice.params, lang=lang)
            assert title and body and "{" not in title + body, (notice.kind, lang)
    return told


ENTERPRISE = ("owner", "coworker")
DEPARTMENT = ("lead",)  # nobody handles it yet: the department's lead (its staff only when it has no lead)
MANAGERS = ("manager", "manager2")

# (row, state to start from, action, actor, body, {kind: recipients}).
ROWS = [
    ("submit by the enterprise", None, "submit", "owner", {}, {"submitted": ("cadre", "leader")}),
    ("submit by a cadre", None, "submit", "cadre", {}, {"submitted": ("leader",)}),
    ("accept", "submitted", "accept", "cadre", {}, {"accepted": ENTERPRISE}),
    ("reject", "submitted", "reject", "cadre", {"reason": "不属于服务范围"}, {"rejected": ENTERPRISE}),
    ("dispatch", "accepted", "dispatch", "cadre", {}, {"dispatched": DEPARTMENT, "forwarded": ENTERPRISE}),
    ("reassign", "in_progress", "dispatch", "manager", {"department_id": "other"},
     {"dispatched": ("other_staff",), "forwarded": ENTERPRISE}),
    ("claim", "dispatched", "claim", "staff", {}, {"claimed": (*ENTERPRISE, "cadre")}),
    ("return", "in_progress", "return", "staff", {"reason_code": "wrong_department", "reason": "不属本部门"},
     {"returned": ("cadre",)}),
    ("resolve by the department", "in_progress", "resolve", "staff", {"resolution": "已更换灯具"},
     {"resolved": ENTERPRISE, "resolved_info": ("cadre",)}),
    ("resolve by the cadre", "accepted", "resolve", "cadre", {"resolution": "现场解决"}, {"resolved": ENTERPRISE}),
    ("rating ≥ 3", "resolved", "rate", "owner", {"score": 4}, {"rated": ("staff", "cadre")}),
    ("rating ≤ 2 (reopen)", "resolved", "rate", "owner", {"score": 2}, {"reopened": ("staff", "cadre", *MANAGERS)}),
    ("supervise, handled", "in_progress", "supervise", "manager", {}, {"supervised": ("staff", "cadre")}),
    ("supervise, unclaimed", "dispatched", "supervise", "manager", {}, {"supervised": (*DEPARTMENT, "cadre")}),
    ("extend", "in_progress", "extend", "manager", {"due_at": "later", "reason": "等待设备"},
     {"extended": ("staff", *ENTERPRISE)}),
    ("comment from the enterprise, handled", "in_progress", "comment", "owner", {"body": "请尽快"},
     {"commented": ("staff", "cadre")}),
    ("comment from the enterprise, unclaimed", "dispatched", "comment", "owner", {"body": "请尽快"},
     {"commented": (*DEPARTMENT, "cadre")}),
    ("comment from the enterprise, before dispatch", "submitted", "comment", "coworker", {"body": "补充"},
     {"commented": ("cadre",)}),
    ("comment from staff", "in_progress", "comment", "staff", {"body": "已安排"}, {"commented": ENTERPRISE}),
    ("comment from a manager", "dispatched", "comment", "manager", {"body": "关注"}, {"commented": ENTERPRISE}),
    ("internal comment by the cadre", "in_progress", "comment", "cadre", {"body": "内部", "internal": True},
     {"commented": ("staff", "lead")}),
    ("internal comment by staff", "in_progress", "comment", "staff", {"body": "内部", "internal": True},
     {"commented": ("cadre", "lead")}),
    # The handling steps of DESIGN §11.
    ("withdraw", "submitted", "withdraw", "owner", {"reason": "误报"}, {"withdrawn": ("cadre", "leader")}),
    ("assign", "in_progress", "assign", "lead", {"user_id": "colleague"},
     {"assigned": ("colleague",), "handler_assigned": (*ENTERPRISE, "cadre")}),
    ("request_info", "in_progress", "request_info", "staff", {"question": "请补充照片"},
     {"info_requested": ENTERPRISE}),
    ("supply_info", "awaiting_info", "supply_info", "owner", {"answer": "已补充"}, {"info_supplied": ("staff",)}),
    ("request_extension", "in_progress", "request_extension", "staff", {"days": 3, "reason": "需协调"},
     {"extension_requested": MANAGERS}),
    ("approve_extension", "extension_requested", "approve_extension", "manager", {},
     {"extension_approved": ("staff", *ENTERPRISE)}),
    ("deny_extension", "extension_requested", "deny_extension", "manager", {"reason": "请按时办结"},
     {"extension_denied": ("staff",)}),
    ("urge, handled", "in_progress", "urge", "owner", {}, {"urged": ("staff", "cadre")}),
    ("urge, unclaimed", "dispatched", "urge", "coworker", {}, {"urged": (*DEPARTMENT, "cadre")}),
]


def _body(people: People, problem_id: int, body: dict) -> dict:
    body = dict(body)
    if body.get("department_id") == "other":
        body["department_id"] = people.world.other_department.id
    if body.get("user_id") == "colleague":
        body["user_id"] = people.world.colleague.id
    if body.get("due_at") == "later":
        body["due_at"] = db.session.get(Problem, problem_id).due_at + timedelta(days=3)
    return body


def _perform(people: People, state: str | None, action: str, actor: str, body: dict) -> int:
    """Do the row's action as its actor; returns the last notice id before it."""
    problem_id = _problem_in(people, state)
    last_id = _last_id()
    _act(people, problem_id, action, actor, body)
    return last_id


def _problem_in(people: People, state: str | None) -> int | None:
    """A problem in the row's starting state (None: the row files one)."""
    if state is None:
        return None
    if state == "extension_requested":  # in progress, with the handler's request pending
        problem_id = problem_in(people.world, "in_progress")
        service.perform(people.world.staff, problem_id, "request_extension", days=3, reason="需协调")
        return problem_id
    return problem_in(people.world, state)


def _act(people: People, problem_id: int | None, action: str, actor: str, body: dict) -> None:
    if problem_id is None:
        file(people.world, by=people.who(actor))
    elif action == "rate":
        service.rate(people.who(actor), problem_id, **_body(people, problem_id, body))
    else:
        service.perform(people.who(actor), problem_id, action, **_body(people, problem_id, body))


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_each_row_of_the_notice_table(people, row):
    _name, state, action, actor, body, expected = row
    told = _told_since(_perform(people, state, action, actor, body))
    assert told == {kind: people.ids(*names) for kind, names in expected.items()}
    assert all(people.who(actor).id not in users for users in told.values())


def test_the_jobs_rows(people):
    world = people.world
    now = utcnow()
    assert (jobs.flag_overdue(now=now), jobs.notify_due_soon(now=now)) == (0, 0)  # first runs
    handled = problem_in(world, "in_progress")
    unclaimed = problem_in(world, "dispatched")
    # Due in 20 minutes, then overdue. (Due in 12 h was not "due soon", within one working day, when
    # run before the Shanghai working day opens: one working day then ends at that day's close.)
    for problem_id in (handled, unclaimed):
        db.session.get(Problem, problem_id).due_at = now + timedelta(minutes=20)
    db.session.commit()
    last_id = _last_id()
    assert jobs.notify_due_soon(now=now + timedelta(minutes=10)) == 2
    told = db.session.execute(select(Notification.problem_id, Notification.user_id).where(Notification.id > last_id))
    assert set(told) == {(handled, world.staff.id), (unclaimed, world.lead.id)}
    last_id = _last_id()
    assert jobs.flag_overdue(now=now + timedelta(hours=13)) == 2
    told = db.session.execute(select(Notification.problem_id, Notification.user_id).where(Notification.id > last_id))
    managers = people.ids(*MANAGERS)
    assert set(told) == {(handled, uid) for uid in {world.staff.id, world.cadre.id} | managers} | {
        (unclaimed, uid) for uid in {world.lead.id, world.cadre.id} | managers
    }


def test_every_action_has_a_row():
    # `reopen` is walked as the rating ≤ 2 row; `close` tells nobody: a satisfied rating is told by
    # `rate`, and the §9 table has no row for a close because nobody rated.
    assert set(workflow.ACTIONS) - {row[2] for row in ROWS} == {"reopen", "close"}


# --- the chain: one statement on PostgreSQL, the same rows as one statement per step -----------------

WRITTEN = (Problem.__table__, ProblemEvent.__table__, Notification.__table__)


def _rows() -> dict[str, dict[int, dict]]:
    return {
        table.name: {row["id"]: dict(row) for row in db.session.execute(select(table).order_by(table.c.id)).mappings()}
        for table in WRITTEN
    }


def _written(before: dict[str, dict[int, dict]]) -> dict[str, list[dict]]:
    """The rows new or changed since `before`, in id order, without what differs between two runs of
    one action on two problems: ids, codes and times."""
    after = _rows()

    def plain(row: dict) -> dict:
        row = {key: "<time>" if isinstance(value, datetime) else value for key, value in row.items()}
        row = {key: value for key, value in row.items() if key not in ("id", "code", "problem_id")}
        if isinstance(row.get("params"), dict):
            row["params"] = {key: value for key, value in row["params"].items() if key not in ("code", "due_at")}
        return row

    return {
        name: [plain(row) for row_id, row in rows.items() if before[name].get(row_id) != row]
        for name, rows in after.items()
    }


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_the_chain_writes_what_its_steps_write(app, people, row, backend_name, monkeypatch):
    """`transactions.chain` on PostgreSQL (the new problem or the timeline row, and the notices, as one
    data-modifying WITH) writes the same rows, in the same order, as its steps one statement each (the
    SQLite path, switched on here for PostgreSQL)."""
    if backend_name != "postgresql":
        pytest.skip("one statement per step is the only path here")
    _name, state, action, actor, body, _expected = row
    written, sent = [], []
    for one_statement in (True, False):
        monkeypatch.setattr(transactions, "_one_statement", lambda one=one_statement: one)
        problem_id = _problem_in(people, state)
        before = _rows()
        with count_queries(app) as seen:
            _act(people, problem_id, action, actor, body)
        # (a transition that tells nobody, like a rating's close, has one step: no WITH)
        assert any(statement.startswith("WITH ") for statement in seen) == one_statement, seen
        chained_tables = ("WITH ", "INSERT INTO problems ", "INSERT INTO problem_events", "INSERT INTO notifications")
        sent.append([statement for statement in seen if statement.startswith(chained_tables)])
        written.append(_written(before))
    chained, stepwise = written
    assert chained == stepwise
    # On PostgreSQL no notice is a statement of its own: the chain's writes are fewer statements (the
    # rest of the request is the same; the first run may also warm a process cache, so not compared).
    assert not any(statement.startswith("INSERT INTO notifications") for statement in sent[0]), sent[0]
    assert len(sent[0]) < len(sent[1]), sent
    assert chained["problem_events"] and chained["notifications"] and chained["problems"]


def test_a_failing_step_leaves_nothing_of_the_chain(people):
    """A later step refused by a constraint (a timeline row of a filing with a department: the CHECK
    `department_only_on_dispatch`) undoes the new problem too: nothing of the chain is left."""
    world = people.world
    filed = db.session.get(Problem, file(world))
    copied = {
        attr.key: getattr(filed, attr.key)
        for attr in inspect(Problem).column_attrs
        if attr.key not in ("id", "code", "status", "version", "updated_at")
    }
    problem = Problem(code="CHAIN-FAILS", **copied)
    counts = (
        select(func.count()).select_from(Problem).where(Problem.code == "CHAIN-FAILS"),
        select(func.count()).select_from(Notification).where(Notification.id > _last_id()),
    )
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            workflow.transition(
                problem, "submit", actor=None, now=utcnow(), params=workflow.Params(department_id=world.department.id)
            )
    assert [db.session.scalar(count) for count in counts] == [0, 0]
    db.session.rollback()
