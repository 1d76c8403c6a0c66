"""The problem life cycle at the service level: every (state, action, actor), the effects and
time stamps of each action, SLA arithmetic, filing rules and notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service_app.attachments.models import Attachment
from service_app.common.time import utcnow
from service_app.errors import Forbidden, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import service
from service_app.problems.models import Problem
from service_app.problems.workflow import InvalidTransition
from service_app.visits.models import Visit
from tests.factories import CategoryFactory, DepartmentUserFactory, EnterpriseUserFactory, LinkFactory
from tests.factories_problems import act, file, make_world, problem_in

STATES = (
    "submitted", "accepted", "rejected", "dispatched", "in_progress", "awaiting_info", "resolved", "closed", "withdrawn"
)
ACTORS = ("owner", "cadre", "staff", "lead", "manager")
EVERYONE = {"owner", "cadre", "staff", "lead", "manager"}
DEPT = {"staff", "lead"}  # any member of the department it is dispatched to
BODIES = {
    "accept": {},
    "reject": {"reason": "重复反映"},
    "dispatch": {},
    "claim": {},
    "return": {"reason_code": "wrong_department", "reason": "不属本部门职能"},
    "resolve": {"resolution": "已处理完毕"},
    "supervise": {},
    "extend": {"reason": "需多部门协调"},
    "comment": {"body": "请尽快处理"},
    "rate": {"score": 4},
    "withdraw": {"reason": "误报"},
    "request_info": {"question": "请提供现场照片"},
    "supply_info": {"answer": "照片已上传"},
    "request_extension": {"days": 5, "reason": "需协调用地"},
    "approve_extension": {},
    "deny_extension": {"reason": "时限内可办结"},
    "urge": {},
    "assign": {},
}
# Written out from DESIGN.md §4 and §11, independently of workflow.TRANSITIONS: who may do what, per state.
# The handler is the cadre once accepted, the claiming staff member from in_progress on.
# approve_extension / deny_extension are tried on a problem whose handler has asked for an extension.
OPEN = {"supervise": {"manager"}, "extend": {"manager"}, "urge": {"owner"}, "comment": EVERYONE}
ANSWERS = {"approve_extension": {"manager"}, "deny_extension": {"manager"}}
MAY = {
    "submitted": {"accept": {"cadre", "manager"}, "reject": {"cadre", "manager"}, "withdraw": {"owner"}, **OPEN},
    "accepted": {
        "dispatch": {"cadre", "manager"}, "resolve": {"cadre"}, "request_info": {"cadre"},
        "request_extension": {"cadre"}, **ANSWERS, **OPEN,
    },
    "rejected": {"comment": EVERYONE},
    "dispatched": {
        "claim": DEPT, "return": DEPT, "dispatch": {"manager"}, "request_info": {"cadre"}, **OPEN,
    },
    "in_progress": {
        "resolve": DEPT, "return": DEPT, "dispatch": {"manager"}, "request_info": {"staff", "cadre"},
        "request_extension": {"staff"}, "assign": {"lead"}, **ANSWERS, **OPEN,
    },
    "awaiting_info": {"supply_info": {"owner"}, "request_extension": {"staff"}, **ANSWERS, **OPEN},
    "resolved": {"rate": {"owner"}, "comment": EVERYONE},
    "closed": {"comment": EVERYONE},
    "withdrawn": {"comment": EVERYONE},
}
# The roles that may ever do an action; anyone else gets 403 whatever the problem.
ROLE_MAY = {
    "accept": {"cadre", "manager"},
    "reject": {"cadre", "manager"},
    "dispatch": {"cadre", "manager"},
    "claim": DEPT,
    "return": DEPT,
    "resolve": {"cadre", *DEPT},
    "supervise": {"manager"},
    "extend": {"manager"},
    "comment": EVERYONE,
    "rate": {"owner"},
    "withdraw": {"owner"},
    "request_info": {"cadre", *DEPT},
    "supply_info": {"owner"},
    "request_extension": {"cadre", *DEPT},
    "approve_extension": {"manager"},
    "deny_extension": {"manager"},
    "urge": {"owner"},
    "assign": DEPT,
}
NEXT = {
    ("submitted", "accept"): "accepted",
    ("submitted", "reject"): "rejected",
    ("submitted", "withdraw"): "withdrawn",
    ("accepted", "dispatch"): "dispatched",
    ("accepted", "resolve"): "resolved",
    ("accepted", "request_info"): "awaiting_info",
    ("dispatched", "claim"): "in_progress",
    ("dispatched", "return"): "accepted",
    ("dispatched", "dispatch"): "dispatched",
    ("dispatched", "request_info"): "awaiting_info",
    ("in_progress", "return"): "accepted",
    ("in_progress", "resolve"): "resolved",
    ("in_progress", "dispatch"): "dispatched",
    ("in_progress", "request_info"): "awaiting_info",
    ("awaiting_info", "supply_info"): "in_progress",  # back where it was paused
    ("resolved", "rate"): "closed",
}
# Department staff see a problem only once it has been dispatched to them.
STAFF_SEES = {"dispatched", "in_progress", "awaiting_info", "resolved", "closed"}
# Listed in allowed_actions only while an extension request is pending.
NEEDS_REQUEST = set(ANSWERS)
HANDLER = {"accepted": "cadre", "in_progress": "staff", "awaiting_info": "staff"}


def _expected(state: str, who: str, action: str) -> int:
    if who not in ROLE_MAY[action]:
        return 403
    if who in DEPT and state not in STAFF_SEES:
        return 404
    if who in MAY[state].get(action, ()):
        return 200
    return 403 if action in MAY[state] else 409


def _allowed(state: str, who: str) -> set[str]:
    return {action for action, people in MAY[state].items() if who in people and action not in NEEDS_REQUEST}


def _try(world, problem_id: int, action: str, who: str):
    body = dict(BODIES[action])
    if action == "extend":
        body["due_at"] = utcnow() + timedelta(days=30)
    if action == "assign":
        body["user_id"] = world.colleague.id
    try:
        act(world, problem_id, action, who, **body)
        return 200, None
    except Forbidden:
        return 403, None
    except NotFound:
        return 404, None
    except InvalidTransition as error:
        return 409, error.extra


def _fresh(world, state: str, action: str) -> int:
    """A problem in `state`; for an answer to an extension request, with the handler's request pending."""
    problem_id = problem_in(world, state)
    if action in NEEDS_REQUEST and state in HANDLER:
        act(world, problem_id, "request_extension", HANDLER[state], **BODIES["request_extension"])
    return problem_id


@pytest.mark.parametrize("state", STATES)
def test_every_action_in_every_state_for_every_actor(app_ctx, state):
    world = make_world()
    outcomes, expected = {}, {}
    for action in BODIES:
        # A refused action changes nothing (asserted), so the refusals share one problem; each success needs its own.
        problem_id = None
        for who in sorted(ACTORS, key=lambda who: _expected(state, who, action) == 200):
            problem_id = problem_id or _fresh(world, state, action)
            code, extra = _try(world, problem_id, action, who)
            outcomes[action, who], expected[action, who] = code, _expected(state, who, action)
            problem = db.session.get(Problem, problem_id)
            if code == 200:
                assert problem.status == NEXT.get((state, action), state), (action, who, problem.status)
                problem_id = None
            else:
                assert problem.status == state  # a refused action changes nothing
            if code == 409:
                assert set(extra) == {"current_status", "allowed_actions"} and extra["current_status"] == state
                assert set(extra["allowed_actions"]) == _allowed(state, who), (action, who)
    assert outcomes == expected
    problem_id = problem_in(world, state)
    for who in ACTORS:
        if not (who in DEPT and state not in STAFF_SEES):
            allowed = service.get_problem(getattr(world, who), problem_id).allowed_actions
            assert set(allowed) == _allowed(state, who), who


def test_conflict_names_the_state_and_what_the_actor_may_do(app_ctx):
    world = make_world()
    problem_id = file(world)
    with pytest.raises(InvalidTransition) as error:
        service.perform(world.cadre, problem_id, "dispatch")
    assert error.value.http_status == 409 and error.value.error_code == "invalid_transition"
    assert error.value.extra == {"current_status": "submitted", "allowed_actions": ["accept", "reject", "comment"]}


def test_only_the_workflow_assigns_status():
    """Nothing outside workflow.py writes Problem.status (the one transition function)."""
    import re
    from pathlib import Path

    assignment = re.compile(r"\b\w*problem\w*\.status\s*=(?!=)", re.IGNORECASE)
    root = Path(__file__).resolve().parent.parent / "service_app"
    writers = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if assignment.search(path.read_text(encoding="utf-8"))
    ]
    assert writers == ["problems/workflow.py"]


def test_the_linked_cadre_may_act_but_another_cadre_sees_nothing(app_ctx):
    world = make_world()
    problem_id = file(world)
    with pytest.raises(NotFound):
        service.perform(world.other_cadre, problem_id, "accept")
    leader = LinkFactory(enterprise=world.enterprise, role="leader").cadre  # linked, though not the primary cadre
    service.perform(leader, problem_id, "accept")
    problem = db.session.get(Problem, problem_id)
    assert (problem.status, problem.handler_id, problem.cadre_id) == ("accepted", leader.id, world.cadre.id)


# --- effects, stamps and the timeline -------------------------------------------------------------


def test_the_happy_path_stamps_times_and_writes_the_timeline(app_ctx):
    world = make_world()
    t0 = datetime(2019, 3, 1, 1, 0, tzinfo=UTC)
    problem_id = file(world, now=t0)
    steps = [
        ("accept", "cadre", {}),
        ("dispatch", "cadre", {"note": "请园区服务中心处理"}),
        ("claim", "staff", {}),
        ("resolve", "staff", {"resolution": "已更换灯具"}),
    ]
    for hour, (action, who, body) in enumerate(steps, start=1):
        act(world, problem_id, action, who, now=t0 + timedelta(hours=hour), **body)
    problem = db.session.get(Problem, problem_id)
    at = lambda hour: t0 + timedelta(hours=hour)  # noqa: E731
    assert (
        problem.accepted_at,
        problem.first_response_at,
        problem.dispatched_at,
        problem.claimed_at,
        problem.resolved_at,
    ) == (at(1), at(1), at(2), at(3), at(4))
    assert (problem.status, problem.department_id, problem.handler_id, problem.resolution) == (
        "resolved",
        world.department.id,
        world.staff.id,
        "已更换灯具",
    )
    assert (problem.version, problem.updated_at, problem.created_at) == (5, at(4), t0)
    events = service.timeline(world.manager, problem_id)
    assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in events] == [
        ("submit", None, "submitted", world.owner.id),
        ("accept", "submitted", "accepted", world.cadre.id),
        ("dispatch", "accepted", "dispatched", world.cadre.id),
        ("claim", "dispatched", "in_progress", world.staff.id),
        ("resolve", "in_progress", "resolved", world.staff.id),
    ]
    assert (events[2].department_id, events[2].department_name, events[2].note) == (
        world.department.id,
        world.department.name,
        "请园区服务中心处理",
    )
    assert events[4].note == "已更换灯具" and [e.created_at for e in events] == [t0, at(1), at(2), at(3), at(4)]


def test_first_response_is_the_first_accept_reject_or_resolve(app_ctx):
    world = make_world()
    t0 = utcnow() - timedelta(hours=10)
    rejected = file(world, now=t0)
    service.perform(world.cadre, rejected, "reject", reason="非本园区事项", now=t0 + timedelta(hours=2))
    problem = db.session.get(Problem, rejected)
    assert (problem.first_response_at, problem.reject_reason, problem.accepted_at) == (
        t0 + timedelta(hours=2),
        "非本园区事项",
        None,
    )
    solved = file(world, now=t0)
    service.perform(world.cadre, solved, "accept", now=t0 + timedelta(hours=1))
    service.perform(world.cadre, solved, "resolve", resolution="走访时当场解决", now=t0 + timedelta(hours=3))
    problem = db.session.get(Problem, solved)
    assert (problem.first_response_at, problem.resolved_at, problem.handler_id, problem.department_id) == (
        t0 + timedelta(hours=1),
        t0 + timedelta(hours=3),
        world.cadre.id,
        None,
    )


def test_return_goes_back_to_the_cadre_and_the_department_keeps_its_view(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "in_progress")
    service.perform(world.staff, problem_id, "return", reason_code="wrong_department", reason="属住建局职能")
    problem = db.session.get(Problem, problem_id)
    assert (problem.status, problem.department_id, problem.handler_id, problem.claimed_at) == (
        "accepted",
        None,
        world.cadre.id,
        None,
    )
    returned = service.timeline(world.cadre, problem_id)[-1]
    assert (returned.action, returned.reason_code, returned.note, returned.from_status) == (
        "return",
        "wrong_department",
        "属住建局职能",
        "in_progress",
    )
    # The department still sees what was once dispatched to it, but can no longer act on it.
    assert service.get_problem(world.staff, problem_id).allowed_actions == ["comment"]
    with pytest.raises(InvalidTransition):
        service.perform(world.staff, problem_id, "claim")
    service.perform(world.cadre, problem_id, "dispatch", department_id=world.other_department.id)
    assert service.get_problem(world.other_staff, problem_id).department_id == world.other_department.id
    assert service.get_problem(world.staff, problem_id).status == "dispatched"
    with pytest.raises(Forbidden):  # visible through history, but not its department any more
        service.perform(world.staff, problem_id, "claim")
    service.perform(world.other_staff, problem_id, "claim")


def test_reject_as_duplicate_needs_another_visible_problem_of_the_same_enterprise(app_ctx):
    world = make_world()
    original, other_enterprise = file(world), file(world, by=world.outsider)
    problem_id = file(world)
    for bad in (problem_id, other_enterprise, 999999):
        with pytest.raises(ValidationFailed) as error:
            service.perform(world.cadre, problem_id, "reject", reason="重复", duplicate_of=bad)
        assert list(error.value.errors) == ["duplicate_of"]
    service.perform(world.cadre, problem_id, "reject", reason="与此前反映重复", duplicate_of=original)
    problem = db.session.get(Problem, problem_id)
    assert (problem.status, problem.duplicate_of_id, problem.reject_reason) == ("rejected", original, "与此前反映重复")


def test_dispatch_goes_to_the_category_department_unless_told_otherwise(app_ctx):
    world = make_world()
    default = problem_in(world, "accepted")
    service.perform(world.cadre, default, "dispatch")
    assert db.session.get(Problem, default).department_id == world.department.id
    chosen = problem_in(world, "accepted")
    with pytest.raises(ValidationFailed) as error:
        service.perform(world.cadre, chosen, "dispatch", department_id=999999)
    assert list(error.value.errors) == ["department_id"]
    service.perform(world.manager, chosen, "dispatch", department_id=world.other_department.id)
    assert db.session.get(Problem, chosen).department_id == world.other_department.id
    homeless = CategoryFactory(default_department=None)
    orphan = problem_in(world, "accepted", category_id=homeless.id)
    with pytest.raises(ValidationFailed):
        service.perform(world.cadre, orphan, "dispatch")


def test_a_manager_may_reassign_and_the_claim_starts_over(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "in_progress")
    service.perform(world.manager, problem_id, "dispatch", department_id=world.other_department.id)
    problem = db.session.get(Problem, problem_id)
    assert (problem.status, problem.department_id, problem.handler_id, problem.claimed_at) == (
        "dispatched",
        world.other_department.id,
        None,
        None,
    )


def test_supervise_once_and_extend_before_the_deadline(app_ctx):
    world = make_world()
    problem_id = file(world, now=utcnow() - timedelta(hours=1))  # due in 3 working days
    due = db.session.get(Problem, problem_id).due_at
    service.perform(world.manager, problem_id, "supervise", note="请加快办理")
    problem = db.session.get(Problem, problem_id)
    assert problem.supervised and problem.supervised_at is not None and problem.status == "submitted"
    with pytest.raises(InvalidTransition) as error:
        service.perform(world.manager, problem_id, "supervise")
    assert error.value.message_key == "already_supervised" and "supervise" not in error.value.extra["allowed_actions"]
    with pytest.raises(ValidationFailed) as error:
        service.perform(world.manager, problem_id, "extend", due_at=due, reason="需协调")
    assert list(error.value.errors) == ["due_at"]
    service.perform(world.manager, problem_id, "extend", due_at=due + timedelta(hours=24), reason="需协调用地")
    problem = db.session.get(Problem, problem_id)
    assert problem.due_at == due + timedelta(hours=24)
    assert service.timeline(world.manager, problem_id)[-1].note == "需协调用地"
    with pytest.raises(Forbidden):
        service.perform(world.cadre, problem_id, "extend", due_at=due + timedelta(hours=48), reason="x")


def test_no_extension_once_the_deadline_has_passed(app_ctx):
    world = make_world()
    problem_id = file(world, now=utcnow() - timedelta(days=30))  # 3 working days are long gone
    with pytest.raises(InvalidTransition) as error:
        service.perform(world.manager, problem_id, "extend", due_at=utcnow() + timedelta(days=3), reason="来不及了")
    assert error.value.message_key == "deadline_passed"
    assert error.value.extra == {
        "current_status": "submitted",
        "allowed_actions": ["accept", "reject", "supervise", "comment"],
    }
    assert "urge" in service.get_problem(world.owner, problem_id).allowed_actions


def test_internal_comments_are_for_government_eyes_only(app_ctx):
    world = make_world()
    problem_id = problem_in(world, "dispatched")
    service.perform(world.staff, problem_id, "comment", body="需财政资金支持", internal=True)
    service.perform(world.owner, problem_id, "comment", body="请告知进度")
    with pytest.raises(Forbidden):
        service.perform(world.owner, problem_id, "comment", body="内部", internal=True)
    seen_by = lambda user: [(e.action, e.note) for e in service.timeline(user, problem_id) if e.action == "comment"]  # noqa: E731
    assert seen_by(world.owner) == [("comment", "请告知进度")]
    assert seen_by(world.cadre) == seen_by(world.staff) == [("comment", "需财政资金支持"), ("comment", "请告知进度")]
    assert db.session.get(Problem, problem_id).status == "dispatched"


# --- filing ---------------------------------------------------------------------------------------


def test_deadlines_count_working_days_and_urgent_halves_them(app_ctx):
    """Filed Monday 2019-04-01 16:00 in Shanghai; Friday 5 April was 清明, a holiday."""
    world = make_world()
    t0 = datetime(2019, 4, 1, 8, 0, tzinfo=UTC)
    end_of = lambda day: datetime(2019, 4, day, 9, 30, tzinfo=UTC)  # noqa: E731  (17:30 in Shanghai)
    normal = db.session.get(Problem, file(world, now=t0))
    urgent = db.session.get(Problem, file(world, now=t0, urgent=True))
    assert (normal.response_due_at, normal.due_at, normal.deadline_provisional) == (end_of(2), end_of(4), False)
    assert (urgent.response_due_at, urgent.due_at, urgent.urgent) == (end_of(2), end_of(3), True)  # 3 / 2 → 2 days
    odd = CategoryFactory(response_days=2, resolve_days=5)
    slow = db.session.get(Problem, file(world, now=t0, category_id=odd.id))
    odd_urgent = db.session.get(Problem, file(world, now=t0, urgent=True, category_id=odd.id))
    assert (slow.response_due_at, slow.due_at) == (end_of(3), end_of(9))  # over 清明 and the weekend
    assert (odd_urgent.response_due_at, odd_urgent.due_at) == (end_of(2), end_of(4))  # 2 → 1, 5 → 3


def test_overdue_is_open_and_past_due(app_ctx):
    world = make_world()
    late = db.session.get(Problem, file(world, now=utcnow() - timedelta(days=30)))
    fresh = db.session.get(Problem, file(world))
    finished = db.session.get(Problem, problem_in(world, "resolved", now=utcnow() - timedelta(hours=80)))
    from service_app.problems import sla

    assert [sla.is_overdue(p, utcnow()) for p in (late, fresh, finished)] == [True, False, False]
    overdue_ids = set(db.session.scalars(select(Problem.id).where(sla.overdue_clause(utcnow()))))
    assert {late.id, fresh.id, finished.id} & overdue_ids == {late.id}


def test_codes_are_numbered_per_shanghai_day(app_ctx):
    world = make_world()
    evening_utc = datetime(2019, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Shanghai
    codes = [db.session.get(Problem, file(world, now=evening_utc + timedelta(minutes=i))).code for i in range(3)]
    assert codes == ["WT-20190302-0001", "WT-20190302-0002", "WT-20190302-0003"]
    assert db.session.get(Problem, file(world, now=datetime(2019, 3, 1, 15, 0, tzinfo=UTC))).code == "WT-20190301-0001"


def test_filing_assigns_the_primary_cadre_and_notifies_it(app_ctx):
    world = make_world()
    leader = LinkFactory(enterprise=world.enterprise, role="leader").cadre
    problem = db.session.get(Problem, file(world))
    assert (problem.status, problem.cadre_id, problem.filed_by_id, problem.version) == (
        "submitted",
        world.cadre.id,
        world.owner.id,
        1,
    )
    assert _notices(problem.id) == [(world.cadre.id, "submitted"), (leader.id, "submitted")]  # every linked cadre


def test_a_cadre_files_for_a_linked_enterprise_with_its_own_visit(app_ctx):
    world = make_world()
    visit = _visit(world.cadre.id, world.enterprise.id)
    problem = db.session.get(Problem, file(world, by=world.cadre, visit_id=visit.id))
    assert (problem.enterprise_id, problem.filed_by_id, problem.cadre_id, problem.visit_id) == (
        world.enterprise.id,
        world.cadre.id,
        world.cadre.id,
        visit.id,
    )
    assert _notices(problem.id) == []  # the cadre filed it: nobody else to tell yet
    elsewhere = _visit(world.other_cadre.id, world.outsider.enterprise_id)
    stolen = _visit(world.other_cadre.id, world.enterprise.id)
    cases = [
        ({"enterprise_id": None}, "enterprise_id"),
        ({"enterprise_id": world.outsider.enterprise_id}, "enterprise_id"),
        ({"enterprise_id": 999_999}, "enterprise_id"),
        # Read in one statement with the category: the link is judged first.
        ({"enterprise_id": world.outsider.enterprise_id, "category_id": 999_999}, "enterprise_id"),
        ({"category_id": 999_999}, "category_id"),
        ({"visit_id": elsewhere.id}, "visit_id"),
        ({"visit_id": stolen.id}, "visit_id"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationFailed) as error:
            file(world, by=world.cadre, **fields)
        assert list(error.value.errors) == [field], fields


def test_an_enterprise_files_only_for_itself(app_ctx):
    world = make_world()
    with pytest.raises(ValidationFailed) as error:
        file(world, enterprise_id=world.outsider.enterprise_id)
    assert list(error.value.errors) == ["enterprise_id"]
    visit = _visit(world.cadre.id, world.enterprise.id)
    with pytest.raises(ValidationFailed):
        file(world, visit_id=visit.id)
    inactive = CategoryFactory(is_active=False)
    with pytest.raises(ValidationFailed) as error:
        file(world, category_id=inactive.id)
    assert list(error.value.errors) == ["category_id"]
    assert file(world, enterprise_id=world.enterprise.id)


def test_filing_claims_the_uploaded_attachments(app_ctx):
    world = make_world()
    mine, theirs = _upload(world.owner.id), _upload(world.outsider.id)
    db.session.commit()  # uploaded earlier, in their own request
    before = db.session.scalar(select(db.func.count(Problem.id)))
    with pytest.raises(ValidationFailed) as error:
        file(world, attachment_ids=[mine.id, theirs.id])
    assert list(error.value.errors) == ["attachment_ids"]
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(Problem.id))) == before
    view = service.file_problem(
        world.owner, title="厂房漏水", description="雨天漏水", category_id=world.category.id, attachment_ids=[mine.id]
    )
    assert [a.id for a in view.attachments] == [mine.id]


# --- notifications --------------------------------------------------------------------------------


def test_each_step_tells_the_people_who_act_next(app_ctx):
    world = make_world()
    DepartmentUserFactory(department=world.department)  # more staff: not told, the lead is
    colleague = EnterpriseUserFactory(enterprise=world.enterprise)
    problem_id = problem_in(world, "accepted")
    service.perform(world.cadre, problem_id, "dispatch")
    # The department's lead takes a dispatch (its staff only when it has no lead); the enterprise hears of it.
    assert _notices(problem_id)[-3:] == [
        (world.lead.id, "dispatched"), (world.owner.id, "forwarded"), (colleague.id, "forwarded"),
    ]
    service.perform(world.staff, problem_id, "return", reason_code="insufficient_info", reason="请补充地址")
    assert _notices(problem_id)[-1] == (world.cadre.id, "returned")
    service.perform(world.cadre, problem_id, "dispatch")
    service.perform(world.staff, problem_id, "claim")
    service.perform(world.manager, problem_id, "supervise")
    assert _notices(problem_id)[-2:] == [(world.staff.id, "supervised"), (world.cadre.id, "supervised")]
    service.perform(world.staff, problem_id, "resolve", resolution="已处理")
    assert _notices(problem_id)[-3:] == [
        (world.owner.id, "resolved"), (colleague.id, "resolved"), (world.cadre.id, "resolved_info")
    ]


def _notices(problem_id: int) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Notification.user_id, Notification.kind)
        .where(Notification.problem_id == problem_id)
        .order_by(Notification.id)
    )
    return [tuple(row) for row in rows]


def _visit(cadre_id: int, enterprise_id: int) -> Visit:
    visit = Visit(cadre_id=cadre_id, enterprise_id=enterprise_id, recorded_at=utcnow(), lat=27.84, lng=113.08)
    db.session.add(visit)
    db.session.flush()
    return visit


def _upload(owner_id: int) -> Attachment:
    attachment = Attachment(
        owner_id=owner_id,
        storage="local",
        storage_key=f"test/{owner_id}/{utcnow().timestamp()}",
        filename="photo.jpg",
        content_type="image/jpeg",
        size=10,
        sha256="0" * 64,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment
