"""GET /me/todo: each role's exclusive to-do counts and unread notices, in one statement besides the
session check, whatever the amount of data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import service
from service_app.problems.models import Problem
from service_app.problems.sla import constant
from service_app.todo import service as todo_service
from tests.conftest import count_queries
from tests.factories import AdminFactory
from tests.factories_problems import file, make_world, problem_in
from tests.factories_visits import VisitFactory
from tests.helpers import assert_error, auth_headers

URL = "/api/v1/me/todo"


def _unread(user) -> int:
    query = select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return db.session.scalar(query)


def _problems(world, *, hours_ago: float = 0) -> None:
    """One problem in each place of the to-do lists (the deadline of the category is 72 hours)."""
    now = utcnow() - timedelta(hours=hours_ago)
    file(world, now=now)  # the cadre's to_accept
    problem_in(world, "accepted", now=now)  # to_dispatch
    returned = problem_in(world, "dispatched", now=now)
    service.perform(world.staff, returned, "return", reason_code="wrong_area", reason="不属本区", now=now)
    problem_in(world, "dispatched", now=now)  # the department's to_claim
    working = problem_in(world, "in_progress", now=now)  # its in_progress
    service.perform(world.manager, working, "supervise", now=now)  # the manager's supervised
    problem_in(world, "resolved", now=now)  # the enterprise's to_rate
    problem_in(world, "closed", now=now)  # nobody's


@pytest.fixture
def world(app_ctx):
    world = make_world()
    _problems(world)
    late = utcnow() - timedelta(days=30)  # the category's 3 working days long gone
    file(world, now=late)  # overdue: the cadre's and the manager's
    problem_in(world, "in_progress", now=late)  # overdue: the department's and the manager's
    soon = db.session.get(Problem, problem_in(world, "dispatched"))  # due in 2 hours: the department's
    soon.due_at = utcnow() + timedelta(hours=2)
    asked = problem_in(world, "in_progress")  # the staff asks for more days: the manager's to decide
    service.perform(world.staff, asked, "request_extension", days=2, reason="需协调")
    service.perform(world.lead, problem_in(world, "dispatched"), "claim")  # the lead's to give to a colleague
    VisitFactory(cadre=world.cadre, enterprise=world.enterprise, flagged=True, recorded_at=late)
    VisitFactory(cadre=world.cadre, enterprise=world.enterprise, flagged=True, recorded_at=late, review="dismissed")
    VisitFactory(cadre=world.cadre, enterprise=world.enterprise, recorded_at=late)
    db.session.commit()
    return world


def test_each_role_counts_what_it_acts_on_next(client, world):
    expected = {
        "owner": {"to_rate": 1, "awaiting_info": 0},
        "cadre": {"overdue": 1, "due_soon": 0, "to_accept": 1, "returned": 1, "to_dispatch": 1},
        "staff": {"overdue": 1, "due_soon": 1, "to_claim": 1, "in_progress": 2, "awaiting_info": 0},
        "lead": {"overdue": 0, "due_soon": 1, "to_claim": 1, "to_assign": 1, "in_progress": 0, "awaiting_info": 0},
        "other_staff": {"overdue": 0, "due_soon": 0, "to_claim": 0, "in_progress": 0, "awaiting_info": 0},
        "manager": {"overdue": 2, "extension_requests": 1, "supervised": 1, "flagged_visits": 1},
    }
    for who, counts in expected.items():
        user = getattr(world, who)
        body = client.get(URL, headers=auth_headers(client, user)).get_json()
        assert body == {"counts": counts, "unread_notifications": _unread(user)}, who
    assert _unread(world.cadre) > 0
    admin = AdminFactory()
    assert client.get(URL, headers=auth_headers(client, admin)).get_json() == {"counts": {}, "unread_notifications": 0}
    assert_error(client.get(URL), 401)


def test_one_statement_besides_the_session_check_at_any_size(app, client, world):
    headers = {who: auth_headers(client, getattr(world, who)) for who in ("owner", "cadre", "staff", "manager")}

    def statements() -> dict[str, int]:
        seen = {}
        for who, their_headers in headers.items():
            with count_queries(app) as recorded:
                assert client.get(URL, headers=their_headers).status_code == 200
            seen[who] = len(recorded)
        return seen

    small = statements()
    for _ in range(5):
        _problems(world, hours_ago=10)
    db.session.commit()
    # Each time: the user and session check every request makes, and the counts.
    assert statements() == small == {who: 2 for who in headers}


@pytest.mark.parametrize(
    "role, is_lead, in_department",
    [("enterprise", False, False), ("cadre", False, False), ("department", True, True),
     ("department", False, True), ("department", False, False), ("manager", False, False)],
)
def test_the_statement_binds_only_the_caller_and_the_moment(app_ctx, role, is_lead, in_department):
    """Statuses, actions and key names are written into the SQL: no expanding or literal_execute
    parameter, which SQLAlchemy re-renders at every execution, and no bound constant."""
    query, *_ = todo_service._statement(todo_service._Caller(role=role, is_lead=is_lead, in_department=in_department))
    compiled = query.compile(dialect=db.engine.dialect)
    assert not compiled.post_compile_params and not compiled.literal_execute_params
    # SQLite writes the subquery's OFFSET 0 as `LIMIT ? OFFSET 0`, binding -1 ("no limit").
    bound = {name for name, value in compiled.params.items() if not (compiled.dialect.name == "sqlite" and value == -1)}
    assert bound <= {"actor_id", "enterprise_id", "department_id", "now", "horizon"}


def test_a_constant_is_an_identifier():
    assert str(constant("in_progress")) == "'in_progress'"
    for value in ("x'; DROP TABLE problems; --", "a b", "", "é"):
        with pytest.raises(ValueError):
            constant(value)
