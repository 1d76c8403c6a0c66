"""The problem life cycle as data (DESIGN.md §4): one record per action, and the one function that applies it.

Each workflow action is one `ActionSpec` in `ACTIONS`, at the end of this file: the states it moves a
problem from and to and who may do it there (a role plus a relation to the problem, "a cadre linked to
the enterprise", "staff of the department it is dispatched to now"…), the time it stamps, what else it
changes (its effect), the body of its endpoint `POST /problems/{id}/{action}` with the checks of that
body, who is told (its rows of the notice table of DESIGN §9), its labels and its OpenAPI text. The
routes, the service, the timeline labels and the demo seeds iterate over these records: adding an
action is one record here.

`transition` is the only code that assigns `Problem.status`: `apply` checks the rule and changes the
problem in memory (effect, status, stamps, `version`/`updated_at`), then `transition` writes the
timeline row and queues the notices, all in the caller's transaction. The demo seeds call `apply`
alone, so their history follows the same rules.

    submitted ─accept→ accepted ─dispatch→ dispatched ─claim→ in_progress ─resolve→ resolved ─rate ≥3 / unrated→ closed
      │ └─reject→ rejected   │    ▲                 │                  │                  └─rate ≤2 reopen→ in_progress
      └─withdraw→ withdrawn  │    └────return───────┴──────────────────┘
                             └─resolve→ resolved  (the linked cadre solves it directly)

    accepted | dispatched | in_progress ─request_info→ awaiting_info ─supply_info→ back where it was
    (the resolution clock stops meanwhile; the deadline moves by the working time spent waiting)

Extension requests (request_extension → approve_extension / deny_extension), urging, assignment
within a department and comments change no state.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from marshmallow import fields, validate
from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy import Integer as SQLInteger

from service_app.auth.models import Role, User
from service_app.common.i18n import bilingual
from service_app.common.schemas import MAX_ID, AwareDateTime, Integer, Schema, Text
from service_app.common.time import SHANGHAI, as_utc
from service_app.common.transactions import Step, chain, execute, insert_step
from service_app.errors import Conflict, Forbidden, ValidationFailed
from service_app.extensions import db
from service_app.notifications.service import Audience, notice_rows
from service_app.org.models import CadreLink, Category, Department
from service_app.org.scoping import is_linked
from service_app.problems.models import (
    OPEN_STATUSES,
    RETURN_REASONS,
    STATUS_LABELS,
    STATUS_LABELS_EN,
    STATUSES,
    Problem,
    ProblemEvent,
)
from service_app.problems.scoping import visible_problems
from service_app.workdays.service import calendar_for

# Roles that work with problems at all; admins manage accounts and reference data only.
PROBLEM_ROLES = (Role.ENTERPRISE, Role.CADRE, Role.DEPARTMENT, Role.MANAGER)
# A rating of at least this closes the problem; below it, the problem is handled again (DESIGN §4).
SATISFIED_SCORE = 3


class Party(str, enum.Enum):
    """Who may act: a role together with its relation to the problem."""

    FILING_ENTERPRISE = "filing_enterprise"  # a user of the enterprise the problem is about
    LINKED_CADRE = "linked_cadre"  # a cadre actively linked to that enterprise
    DEPARTMENT_STAFF = "department_staff"  # staff of the department it is dispatched to now
    DEPARTMENT_LEAD = "department_lead"  # the lead of that department (`User.is_lead`)
    HANDLER = "handler"  # the person handling it now (claimer, or the cadre after a reopen)
    MANAGER = "manager"
    VIEWER = "viewer"  # anyone who can see the problem
    SYSTEM = "system"  # a scheduled job, or a partner system filing through Open311: no actor


PARTY_ROLES: dict[Party, frozenset[Role]] = {
    Party.FILING_ENTERPRISE: frozenset({Role.ENTERPRISE}),
    Party.LINKED_CADRE: frozenset({Role.CADRE}),
    Party.DEPARTMENT_STAFF: frozenset({Role.DEPARTMENT}),
    Party.DEPARTMENT_LEAD: frozenset({Role.DEPARTMENT}),
    Party.HANDLER: frozenset({Role.CADRE, Role.DEPARTMENT}),
    Party.MANAGER: frozenset({Role.MANAGER}),
    Party.VIEWER: frozenset(PROBLEM_ROLES),
    Party.SYSTEM: frozenset(),
}


@dataclass(frozen=True)
class Guard:
    """A condition beyond the state (e.g. "not yet supervised"); failing it is a 409 with this message."""

    holds: Callable[[Problem, datetime], bool]
    message_key: str
    zh: str
    en: str
    extra: Callable[[Problem, datetime], dict[str, Any]] | None = None  # more for the 409 body


@dataclass(frozen=True)
class Rule:
    to: str | None
    who: frozenset[Party]
    guard: Guard | None = None


def _rule(to: str | None, *who: Party, guard: Guard | None = None) -> Rule:
    return Rule(to=to, who=frozenset(who), guard=guard)


NOT_SUPERVISED = Guard(
    lambda p, _now: not p.supervised, "already_supervised", "该问题已在督办中", "The problem is already supervised"
)
BEFORE_DEADLINE = Guard(
    lambda p, now: now < as_utc(p.due_at),
    "deadline_passed",
    "办理时限已过，不能再延期",
    "The deadline has passed; it can no longer be extended",
)


NO_PENDING_EXTENSION = Guard(
    lambda p, _now: p.extension_request_days is None,
    "extension_pending",
    "已有一个延期申请待审批",
    "An extension request is already pending",
)
PENDING_EXTENSION = Guard(
    lambda p, _now: p.extension_request_days is not None,
    "no_extension_request",
    "没有待审批的延期申请",
    "There is no pending extension request",
)


def _shanghai_date(moment: datetime) -> date:
    return as_utc(moment).astimezone(SHANGHAI).date()


def _next_urge_at(problem: Problem, now: datetime) -> dict[str, Any]:
    tomorrow = _shanghai_date(now) + timedelta(days=1)
    return {"next_allowed_at": datetime.combine(tomorrow, time(0), SHANGHAI).isoformat()}


# Urging: once per Shanghai calendar date (DESIGN §15); the 409 says when it is allowed again.
NOT_URGED_TODAY = Guard(
    lambda p, now: p.last_urged_at is None or _shanghai_date(p.last_urged_at) != _shanghai_date(now),
    "already_urged_today",
    "今天已催办过，请明天再催办",
    "Already urged today; you may urge again tomorrow",
    extra=_next_urge_at,
)


@dataclass(frozen=True)
class Params:
    """What an action carries besides its name; the action's `prepare` builds it from the request body."""

    note: str | None = None
    reason_code: str | None = None
    department_id: int | None = None
    duplicate_of_id: int | None = None
    due_at: datetime | None = None
    internal: bool = False
    closed_reason: str | None = None
    attachment_ids: tuple[int, ...] = ()  # the caller's uploads the action attaches to the problem
    assignee_id: int | None = None  # assign
    days: int | None = None  # request_extension: working days asked for
    waited_seconds: int = 0  # supply_info: working time spent awaiting information
    provisional: bool = False  # the new due_at was counted on a year the calendar does not cover


Effect = Callable[[Problem, User | None, Params], None]
Prepare = Callable[..., Params]
# A recipient column of the notice table: a condition on `users` (see "recipients" below).
Recipients = Callable[[], ColumnElement[bool]]


def _always(actor: User | None, params: Params) -> bool:
    return True


def _no_extra(problem: Problem, params: Params) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Notice:
    """One row of the notice table (DESIGN §9): who hears of an action or a job's event, as which kind.

    Nobody is told of their own action (`send` leaves the actor out), inactive users are not told,
    and nobody is told twice of one notice. `when` chooses between rows of one action by who did it
    and what it carried (a satisfied rating is told, a dissatisfied one is told by its reopen; a
    public comment goes to the other side, an internal one to the staff).
    The notice is stored as its kind and parameters (the problem's code and title, plus what `extra`
    adds) and rendered in the reader's language when read (notifications/messages.py).
    """

    kind: str
    to: tuple[Recipients, ...]
    when: Callable[[User | None, Params], bool] = _always
    extra: Callable[[Problem, Params], dict[str, Any]] = _no_extra

    def send(self, problem: Problem, actor: User | None, params: Params) -> int:
        """Queue this notice of `problem` in the caller's transaction: one statement, which finds the
        recipients itself. Returns how many were told."""
        step = self.step(problem, actor, params)
        return 0 if step is None else execute(*step).rowcount

    def step(self, problem: Problem, actor: User | None, params: Params) -> Step | None:
        """`send`'s statement and parameters, not run (None: `when` says nobody is told), for
        `transition`'s chain. A new problem's id is None here: the chain feeds it."""
        if not self.when(actor, params):
            return None
        data = {"code": problem.code, "title": problem.title, **self.extra(problem, params)}
        return notice_rows(
            _audience(self.to), kind=self.kind, params=data, problem_id=problem.id,
            bound={name: getattr(problem, name) for name in RECIPIENT_COLUMNS},
            exclude=actor.id if actor is not None else None,
        )


@functools.cache
def _audience(to: tuple[Recipients, ...]) -> Audience:
    """A notice's recipient columns as one `Audience`, built once per combination (`notify` keeps its
    statement)."""
    return Audience(tuple(recipients() for recipients in to))


@dataclass(frozen=True)
class ActionSpec:
    """Everything known about one workflow action. `ACTIONS` holds one per action."""

    name: str
    zh: str  # timeline label
    en: str
    moves: Mapping[str | None, Rule]  # from-state (None: a new problem) -> where it goes and who may do it
    stamp: str | None = None  # the Problem column set to the time of the action
    effect: Effect | None = None  # what else it changes
    responds: bool = False  # the first of these answers the response deadline
    asked: bool = True  # a client asks for it (listed in allowed_actions); False: filing or a consequence
    schema: type[Schema] | None = None  # body of POST /problems/{id}/{name}; None: no such endpoint
    prepare: Prepare | None = None  # (actor, problem, now, **body) -> Params: the checks of that body
    summary: str | None = None  # OpenAPI
    description: str | None = None
    notices: tuple[Notice, ...] = ()


class InvalidTransition(Conflict):
    """409: the action is not possible in the problem's current state (or its guard fails)."""

    error_code = "invalid_transition"


def field_error(field_name: str, zh: str, en: str) -> ValidationFailed:
    """422 naming one field of the request body."""
    return ValidationFailed(errors={field_name: [bilingual(zh, en)]})


# --- the machinery: who may do what now, and applying it ------------------------------------------

@functools.cache
def roles_for(action: str) -> tuple[Role, ...]:
    """Every role that may ever do `action` (another role gets 403, whatever the problem)."""
    roles = set().union(*(PARTY_ROLES[p] for (_s, a), rule in TRANSITIONS.items() if a == action for p in rule.who))
    return tuple(role for role in Role if role in roles)


def relations(problem: Problem, actor: User | None, *, linked: bool | None = None) -> frozenset[Party]:
    """The parties `actor` belongs to for this problem. The caller has checked it may see it.

    `linked` says whether a cadre actor is actively linked to the problem's enterprise when the
    caller already knows (the seeds); None looks it up.
    """
    if actor is None:
        return frozenset({Party.SYSTEM})
    found = {Party.VIEWER}
    if actor.role == Role.MANAGER.value:
        found.add(Party.MANAGER)
    elif actor.role == Role.ENTERPRISE.value and actor.enterprise_id == problem.enterprise_id:
        found.add(Party.FILING_ENTERPRISE)
    elif actor.role == Role.CADRE.value and (is_linked(actor.id, problem.enterprise_id) if linked is None else linked):
        found.add(Party.LINKED_CADRE)
    elif (
        actor.role == Role.DEPARTMENT.value
        and problem.department_id is not None
        and actor.department_id == problem.department_id
    ):
        found.add(Party.DEPARTMENT_STAFF)
        if actor.is_lead:
            found.add(Party.DEPARTMENT_LEAD)
    if problem.handler_id is not None and problem.handler_id == actor.id:
        found.add(Party.HANDLER)
    return frozenset(found)


def _permits(rule: Rule, parties: frozenset[Party], problem: Problem, now: datetime) -> bool:
    return bool(rule.who & parties) and (rule.guard is None or rule.guard.holds(problem, now))


def allowed_actions(
    problem: Problem, actor: User | None, *, now: datetime, parties: frozenset[Party] | None = None
) -> list[str]:
    """What `actor` may do now, in the table's order (for the 409 body and GET /problems/{id})."""
    parties = relations(problem, actor) if parties is None else parties
    return [
        action
        for (state, action), rule in TRANSITIONS.items()
        if state == problem.status and ACTIONS[action].asked and _permits(rule, parties, problem, now)
    ]


def ensure_role(actor: User | None, action: str) -> None:
    """403 when the actor's role may never do `action` (checked before the problem is looked up)."""
    if actor is not None and Role(actor.role) not in roles_for(action):
        raise Forbidden()


def check(
    problem: Problem, action: str, actor: User | None, *, now: datetime, parties: frozenset[Party] | None = None
) -> Rule:
    """The rule for `action` now, or: 403 (role or relation), 409 (state or guard)."""
    ensure_role(actor, action)
    parties = relations(problem, actor) if parties is None else parties
    rule = TRANSITIONS.get((problem.status, action))
    if rule is None:
        raise _invalid(problem, actor, parties, now)
    if not rule.who & parties:
        raise Forbidden()
    if rule.guard is not None and not rule.guard.holds(problem, now):
        guard = rule.guard
        more = guard.extra(problem, now) if guard.extra is not None else {}
        raise _invalid(problem, actor, parties, now, key=guard.message_key, zh=guard.zh, en=guard.en, more=more)
    return rule


def _invalid(
    problem,
    actor,
    parties,
    now,
    *,
    key: str | None = None,
    zh: str | None = None,
    en: str | None = None,
    more: Mapping[str, Any] | None = None,
) -> InvalidTransition:
    status = problem.status
    allowed = allowed_actions(problem, actor, now=now, parties=parties)
    return InvalidTransition(
        key,
        zh=zh or f"当前状态（{STATUS_LABELS[status]}）不允许此操作",
        en=en or f"This action is not allowed while the problem is {STATUS_LABELS_EN[status].lower()}",
        extra={"current_status": status, "allowed_actions": allowed, **(more or {})},
    )


def apply(
    problem: Problem,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    params: Params = Params(),
    parties: frozenset[Party] | None = None,
) -> dict[str, Any]:
    """Check `action` and change `problem` in memory: effect, status, stamps, version. No database
    write: returns the columns of its timeline row (all but `problem_id`)."""
    rule = check(problem, action, actor, now=now, parties=parties)
    spec = ACTIONS[action]
    before = problem.status
    if spec.effect is not None:
        spec.effect(problem, actor, params)
    if rule.to is not None:
        problem.status = rule.to
    if spec.stamp is not None:
        setattr(problem, spec.stamp, now)
    if spec.responds and problem.first_response_at is None:
        problem.first_response_at = now
    problem.version = (problem.version or 0) + 1
    problem.updated_at = now
    return {
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "from_status": before,
        "to_status": problem.status,
        "note": params.note,
        "reason_code": params.reason_code or params.closed_reason,
        "department_id": params.department_id,  # only dispatch's prepare sets it (a CHECK says so too)
        "internal": params.internal,
        "created_at": now,
    }


def transition(
    problem: Problem,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    params: Params = Params(),
    parties: frozenset[Party] | None = None,
) -> None:
    """Apply `action` to `problem`: the one way a problem changes.

    A new problem is inserted at once, outside the session (its timeline row and notices need its
    id); a changed one is written by the caller's commit. The new problem, its timeline row and the
    notices are written now, in the caller's transaction, as one `chain`: one statement on
    PostgreSQL (the new problem's id passed by RETURNING), an INSERT each elsewhere; no unit-of-work
    flush. Nobody reads the counts of those told, so none is returned."""
    columns = apply(problem, action, actor=actor, now=now, params=params, parties=parties)
    steps = [insert_step(ProblemEvent.__table__, {"problem_id": problem.id, **columns})]
    steps += filter(None, (notice.step(problem, actor, params) for notice in ACTIONS[action].notices))
    if problem.id is None:  # a new problem
        chain(steps, head=problem, feeds="problem_id")
    else:
        chain(steps)


def rating_steps(score: int, comment: str | None) -> list[tuple[str, Params]]:
    """The actions a rating is: `rate`, then `close` when satisfied, else `reopen` (handled again)."""
    rated = ("rate", Params(note=comment, reason_code=f"score_{score}"))
    if score >= SATISFIED_SCORE:
        return [rated, ("close", Params(closed_reason="rated"))]
    return [rated, ("reopen", Params())]


# --- effects: what each action changes besides the status and the time stamps -------------------

def _accept(problem: Problem, actor: User | None, params: Params) -> None:
    if actor is not None and actor.role == Role.CADRE.value:
        problem.handler_id = actor.id
        if problem.cadre_id is None:  # no primary cadre when filed: whoever accepts it owns it
            problem.cadre_id = actor.id
    else:
        problem.handler_id = problem.cadre_id


def _reject(problem: Problem, actor: User | None, params: Params) -> None:
    problem.reject_reason = params.note
    problem.duplicate_of_id = params.duplicate_of_id


def _dispatch(problem: Problem, actor: User | None, params: Params) -> None:
    problem.department_id = params.department_id
    problem.handler_id = None  # nobody in the department has claimed it yet
    problem.claimed_at = None


def _claim(problem: Problem, actor: User | None, params: Params) -> None:
    problem.handler_id = actor.id


def _return(problem: Problem, actor: User | None, params: Params) -> None:
    # Back to the cadre; the dispatch stays in the timeline, which keeps the department's view of it.
    problem.department_id = None
    problem.handler_id = problem.cadre_id
    problem.claimed_at = None


def _resolve(problem: Problem, actor: User | None, params: Params) -> None:
    problem.resolution = params.note
    problem.handler_id = actor.id


def _supervise(problem: Problem, actor: User | None, params: Params) -> None:
    problem.supervised = True


def _extend(problem: Problem, actor: User | None, params: Params) -> None:
    problem.due_at = params.due_at
    problem.deadline_provisional = False  # a moment the manager chose, not counted on the calendar


def _request_info(problem: Problem, actor: User | None, params: Params) -> None:
    # The resolution clock stops: remember where to go back to (`paused_at` is the action's stamp).
    problem.paused_from = problem.status
    problem.info_reminders = 0


def _supply_info(problem: Problem, actor: User | None, params: Params) -> None:
    # Back where it was; the deadline moves by the working time spent waiting (prepared in `params`).
    problem.status = problem.paused_from
    problem.due_at = params.due_at
    problem.paused_seconds = (problem.paused_seconds or 0) + params.waited_seconds
    problem.deadline_provisional = bool(problem.deadline_provisional) or params.provisional
    problem.paused_from = None
    problem.paused_at = None


def _request_extension(problem: Problem, actor: User | None, params: Params) -> None:
    problem.extension_request_days = params.days


def _approve_extension(problem: Problem, actor: User | None, params: Params) -> None:
    problem.due_at = params.due_at
    problem.extension_days = (problem.extension_days or 0) + problem.extension_request_days
    problem.deadline_provisional = bool(problem.deadline_provisional) or params.provisional
    problem.extension_request_days = None
    problem.extension_requested_at = None


def _deny_extension(problem: Problem, actor: User | None, params: Params) -> None:
    problem.extension_request_days = None
    problem.extension_requested_at = None


def _urge(problem: Problem, actor: User | None, params: Params) -> None:
    problem.urge_count = (problem.urge_count or 0) + 1


def _assign(problem: Problem, actor: User | None, params: Params) -> None:
    problem.handler_id = params.assignee_id


def _close(problem: Problem, actor: User | None, params: Params) -> None:
    problem.closed_reason = params.closed_reason


def _reopen(problem: Problem, actor: User | None, params: Params) -> None:
    # Not resolved until resolved again (DESIGN §4); the old resolution stays in the timeline.
    problem.reopen_count = (problem.reopen_count or 0) + 1
    problem.resolution = None
    problem.resolved_at = None


# --- recipients: the columns of the notice table --------------------------------------------------
# Each is a condition on `users` over the problem's columns as bound parameters (`RECIPIENT_COLUMNS`):
# a notice's recipients are resolved in its own INSERT … SELECT (`Notice.send`, `notify`), which also
# keeps active users only, leaves the actor out and tells each user once.

RECIPIENT_COLUMNS = ("enterprise_id", "cadre_id", "handler_id", "department_id")


@functools.cache
def _column(name: str) -> BindParameter:
    return bindparam(name, type_=SQLInteger())


def _department_lead() -> ColumnElement[bool]:
    """Who takes a department's problem nobody handles yet: its lead (`User.is_lead`), or its staff
    when the department has no active lead."""
    department = _column("department_id")
    lead = User.__table__.alias("department_lead")
    has_lead = exists().where(
        lead.c.role == Role.DEPARTMENT.value,
        lead.c.department_id == department,
        lead.c.is_lead.is_(True),
        lead.c.is_active.is_(True),
    )
    return and_(
        User.role == Role.DEPARTMENT.value, User.department_id == department, or_(User.is_lead.is_(True), ~has_lead)
    )


def enterprise_users() -> ColumnElement[bool]:
    return and_(User.role == Role.ENTERPRISE.value, User.enterprise_id == _column("enterprise_id"))


def _linked_cadres() -> ColumnElement[bool]:
    linked = select(CadreLink.cadre_id).where(
        CadreLink.enterprise_id == _column("enterprise_id"), CadreLink.ended_at.is_(None)
    )
    return and_(User.role == Role.CADRE.value, User.id.in_(linked))


def managers() -> ColumnElement[bool]:
    return User.role == Role.MANAGER.value


def cadre_of() -> ColumnElement[bool]:
    return User.id == _column("cadre_id")


def _handler() -> ColumnElement[bool]:
    return User.id == _column("handler_id")


def doers() -> ColumnElement[bool]:
    """"Someone handling it" (DESIGN §15): the handler or, nobody assigned, the department's lead."""
    return or_(_handler(), and_(_column("handler_id").is_(None), _department_lead()))


def _by_person(actor: User | None, params: Params) -> bool:
    return actor is not None


def _score(params: Params) -> int:
    return int((params.reason_code or "score_0").removeprefix("score_"))


def _satisfied(actor: User | None, params: Params) -> bool:
    return _score(params) >= SATISFIED_SCORE


def _public_by_enterprise(actor: User | None, params: Params) -> bool:
    return not params.internal and actor is not None and actor.role == Role.ENTERPRISE.value


def _public_by_staff(actor: User | None, params: Params) -> bool:
    return not params.internal and (actor is None or actor.role != Role.ENTERPRISE.value)


def _internal(actor: User | None, params: Params) -> bool:
    return params.internal


def _with_reason(problem: Problem, params: Params) -> dict[str, Any]:
    return {"reason_code": params.reason_code}


def _with_score(problem: Problem, params: Params) -> dict[str, Any]:
    return {"score": _score(params)}


def with_due_at(problem: Problem, params: Params) -> dict[str, Any]:
    return {"due_at": as_utc(problem.due_at).isoformat()}


def _with_days(problem: Problem, params: Params) -> dict[str, Any]:
    return {"days": params.days}


def _with_internal(problem: Problem, params: Params) -> dict[str, Any]:
    return {"internal": params.internal}


# --- preparation: the checks of an endpoint's body, into Params ---------------------------------

def _plain(actor: User, problem: Problem, now: datetime, *, note: str | None = None) -> Params:
    return Params(note=note)


def _prepare_reject(
    actor: User, problem: Problem, now: datetime, *, reason: str, duplicate_of: int | None = None
) -> Params:
    if duplicate_of is not None:
        original = db.session.scalar(
            visible_problems(actor).where(Problem.id == duplicate_of).with_only_columns(Problem.enterprise_id)
        )
        if duplicate_of == problem.id or original != problem.enterprise_id:
            raise field_error(
                "duplicate_of", "须为同一企业的另一个问题", "Must be another problem of the same enterprise"
            )
    return Params(note=reason, duplicate_of_id=duplicate_of)


def _prepare_dispatch(
    actor: User, problem: Problem, now: datetime, *, department_id: int | None = None, note: str | None = None
) -> Params:
    if department_id is None:
        default = select(Category.default_department_id).where(Category.id == problem.category_id)
        department_id = db.session.scalar(default)
        if department_id is None:
            raise field_error(
                "department_id", "该类别没有默认部门，请指定部门", "This category has no default department; choose one"
            )
    elif db.session.get(Department, department_id) is None:
        raise field_error("department_id", "部门不存在", "No such department")
    return Params(note=note, department_id=department_id)


def _prepare_return(actor: User, problem: Problem, now: datetime, *, reason_code: str, reason: str) -> Params:
    return Params(note=reason, reason_code=reason_code)


def _prepare_resolve(
    actor: User, problem: Problem, now: datetime, *, resolution: str, attachment_ids: Iterable[int] = ()
) -> Params:
    return Params(note=resolution, attachment_ids=tuple(attachment_ids))


def _prepare_request_info(
    actor: User, problem: Problem, now: datetime, *, question: str, attachment_ids: Iterable[int] = ()
) -> Params:
    return Params(note=question, attachment_ids=tuple(attachment_ids))


def _prepare_supply_info(
    actor: User, problem: Problem, now: datetime, *, answer: str, attachment_ids: Iterable[int] = ()
) -> Params:
    calendar = calendar_for(_shanghai_date(problem.paused_at).year)
    waited, counted_provisionally = calendar.working_seconds(problem.paused_at, now)
    moved = calendar.add_working_time(problem.due_at, waited)
    return Params(
        note=answer,
        attachment_ids=tuple(attachment_ids),
        due_at=moved.at,
        waited_seconds=waited,
        provisional=counted_provisionally or moved.provisional,
    )


def _prepare_request_extension(actor: User, problem: Problem, now: datetime, *, days: int, reason: str) -> Params:
    return Params(note=reason, days=days, reason_code=extension_code(days))


def extension_code(days: int) -> str:
    """The timeline's reason code of an extension request: how many working days it asked for."""
    return f"days_{days}"


def _prepare_approve_extension(actor: User, problem: Problem, now: datetime, *, note: str | None = None) -> Params:
    # An extension adds working days to the current deadline, even when approved after it passed.
    moved = calendar_for(_shanghai_date(problem.due_at).year).add_working_days(
        problem.due_at, problem.extension_request_days
    )
    return Params(note=note, due_at=moved.at, provisional=moved.provisional)


def _prepare_reason(actor: User, problem: Problem, now: datetime, *, reason: str) -> Params:
    return Params(note=reason)


def _prepare_assign(actor: User, problem: Problem, now: datetime, *, user_id: int, note: str | None = None) -> Params:
    colleague = db.session.scalar(
        select(User.id).where(
            User.id == user_id,
            User.role == Role.DEPARTMENT.value,
            User.department_id == problem.department_id,
            User.is_active.is_(True),
        )
    )
    if colleague is None:
        raise field_error("user_id", "须为本部门的在岗人员", "Must be an active member of this department")
    return Params(note=note, assignee_id=user_id)


def _prepare_extend(actor: User, problem: Problem, now: datetime, *, due_at: datetime, reason: str) -> Params:
    if due_at <= as_utc(problem.due_at):
        raise field_error("due_at", "新的办理时限须晚于当前时限", "The new deadline must be later than the current one")
    return Params(note=reason, due_at=due_at)


def _prepare_comment(
    actor: User,
    problem: Problem,
    now: datetime,
    *,
    body: str,
    internal: bool = False,
    attachment_ids: Iterable[int] = (),
) -> Params:
    if internal and actor.role == Role.ENTERPRISE.value:
        raise Forbidden(
            "internal_comment_forbidden", zh="企业不能发表内部意见", en="Enterprises cannot post internal comments"
        )
    return Params(note=body, internal=internal, attachment_ids=tuple(attachment_ids))


# --- bodies of the action endpoints ---------------------------------------------------------------

_ID = validate.Range(min=1, max=MAX_ID)
_NOTE = validate.Length(min=1, max=2000)


class NoteSchema(Schema):
    """Accept, claim, supervise: an optional note for the timeline (the body may be empty)."""

    note = Text(load_default=None, allow_none=True, validate=_NOTE)


class RejectSchema(Schema):
    reason = Text(required=True, validate=_NOTE)
    duplicate_of = Integer(
        load_default=None, allow_none=True, validate=_ID, metadata={"description": "The problem this one repeats"}
    )


class DispatchSchema(NoteSchema):
    department_id = Integer(
        load_default=None, allow_none=True, validate=_ID, metadata={"description": "Default: the category's department"}
    )


class ReturnSchema(Schema):
    reason_code = fields.String(required=True, validate=validate.OneOf(list(RETURN_REASONS)))
    reason = Text(required=True, validate=_NOTE)


def _attachment_ids():
    return fields.List(
        Integer(validate=_ID),
        load_default=list,
        validate=validate.Length(max=9),
        metadata={"description": "Your own uploads (POST /attachments) to attach"},
    )


class ResolveSchema(Schema):
    resolution = Text(required=True, validate=validate.Length(min=1, max=4000))
    attachment_ids = _attachment_ids()


class RequestInfoSchema(Schema):
    question = Text(required=True, validate=_NOTE)
    attachment_ids = _attachment_ids()


class SupplyInfoSchema(Schema):
    answer = Text(required=True, validate=_NOTE)
    attachment_ids = _attachment_ids()


class RequestExtensionSchema(Schema):
    days = Integer(
        required=True, validate=validate.Range(min=1, max=60), metadata={"description": "Working days"}
    )
    reason = Text(required=True, validate=_NOTE)


class ReasonSchema(Schema):
    reason = Text(required=True, validate=_NOTE)


class AssignSchema(NoteSchema):
    user_id = Integer(required=True, validate=_ID, metadata={"description": "A colleague in the department"})


class ExtendSchema(Schema):
    due_at = AwareDateTime(required=True)
    reason = Text(required=True, validate=_NOTE)


class CommentSchema(Schema):
    body = Text(required=True, validate=_NOTE)
    internal = fields.Boolean(
        load_default=False, metadata={"description": "Hidden from the enterprise; not for enterprises"}
    )
    attachment_ids = _attachment_ids()


# --- the records ------------------------------------------------------------------------------------

P = Party
_HANDLER_AND_CADRE = (_handler, cadre_of)
_DOERS_AND_CADRE = (doers, cadre_of)
_ENTERPRISE = (enterprise_users,)

ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "submit", "提交", "Submitted",
            moves={None: _rule("submitted", P.FILING_ENTERPRISE, P.LINKED_CADRE, P.SYSTEM)},
            asked=False,  # filing: POST /problems
            notices=(Notice("submitted", (_linked_cadres,)),),
        ),
        ActionSpec(
            "withdraw", "撤回", "Withdrawn",
            moves={"submitted": _rule("withdrawn", P.FILING_ENTERPRISE)},
            stamp="withdrawn_at",
            schema=ReasonSchema, prepare=_prepare_reason,
            # Not in the §9 table; the cadres told of the filing are told it is gone from their queue.
            notices=(Notice("withdrawn", (_linked_cadres,)),),
            summary="Withdraw a problem filed by mistake, before it is accepted (撤回); counted in no statistic.",
        ),
        ActionSpec(
            "accept", "受理", "Accepted",
            moves={"submitted": _rule("accepted", P.LINKED_CADRE, P.MANAGER)},
            stamp="accepted_at", effect=_accept, responds=True,
            schema=NoteSchema, prepare=_plain, summary="Accept a submitted problem (受理).",
            notices=(Notice("accepted", _ENTERPRISE),),
        ),
        ActionSpec(
            "reject", "不予受理", "Rejected",
            moves={"submitted": _rule("rejected", P.LINKED_CADRE, P.MANAGER)},
            effect=_reject, responds=True,
            schema=RejectSchema, prepare=_prepare_reject,
            summary="Reject a submitted problem with a reason, optionally as a duplicate (不予受理).",
            notices=(Notice("rejected", _ENTERPRISE),),
        ),
        ActionSpec(
            "dispatch", "派单", "Dispatched",
            moves={
                "accepted": _rule("dispatched", P.LINKED_CADRE, P.MANAGER),
                # A manager may reassign a problem to another department (DESIGN §4: "reassign").
                "dispatched": _rule("dispatched", P.MANAGER),
                "in_progress": _rule("dispatched", P.MANAGER),
            },
            stamp="dispatched_at", effect=_dispatch,
            schema=DispatchSchema, prepare=_prepare_dispatch,
            summary="Dispatch to a department, by default the category's (派单); managers may reassign.",
            notices=(Notice("dispatched", (_department_lead,)), Notice("forwarded", _ENTERPRISE)),
        ),
        ActionSpec(
            "claim", "签收", "Claimed",
            moves={"dispatched": _rule("in_progress", P.DEPARTMENT_STAFF)},
            stamp="claimed_at", effect=_claim,
            schema=NoteSchema, prepare=_plain, summary="Claim a problem dispatched to your department (签收).",
            notices=(Notice("claimed", (enterprise_users, cadre_of)),),
        ),
        ActionSpec(
            "assign", "指派", "Assigned",
            moves={"in_progress": _rule(None, P.DEPARTMENT_LEAD)},
            effect=_assign,
            schema=AssignSchema, prepare=_prepare_assign,
            summary="The department's lead assigns the problem to a colleague, who handles it (指派).",
            # The assignee hears it is theirs now; the enterprise and the cadre, who handles it.
            notices=(Notice("assigned", (_handler,)), Notice("handler_assigned", (enterprise_users, cadre_of))),
        ),
        ActionSpec(
            "request_info", "要求补充材料", "Information requested",
            moves={
                state: _rule("awaiting_info", P.HANDLER, P.LINKED_CADRE)
                for state in ("accepted", "dispatched", "in_progress")
            },
            stamp="paused_at", effect=_request_info,
            schema=RequestInfoSchema, prepare=_prepare_request_info,
            summary="Ask the enterprise for more information (要求补充); the resolution clock stops.",
            notices=(Notice("info_requested", _ENTERPRISE),),
        ),
        ActionSpec(
            "supply_info", "补充材料", "Information supplied",
            # Back to the status it was paused in: the effect restores it (`paused_from`).
            moves={"awaiting_info": _rule(None, P.FILING_ENTERPRISE)},
            effect=_supply_info,
            schema=SupplyInfoSchema, prepare=_prepare_supply_info,
            summary="Supply the information asked for (补充材料); the deadline moves by the time spent waiting.",
            notices=(Notice("info_supplied", (doers,)),),
        ),
        ActionSpec(
            "return", "退单", "Returned",
            moves={
                "dispatched": _rule("accepted", P.DEPARTMENT_STAFF),
                "in_progress": _rule("accepted", P.DEPARTMENT_STAFF),
            },
            effect=_return,
            schema=ReturnSchema, prepare=_prepare_return,
            summary="Return a problem to the cadre with a reason code (退单).",
            notices=(Notice("returned", (cadre_of,), extra=_with_reason),),
        ),
        ActionSpec(
            "resolve", "办结", "Resolved",
            moves={
                "accepted": _rule("resolved", P.LINKED_CADRE),  # the cadre solves it directly
                "in_progress": _rule("resolved", P.DEPARTMENT_STAFF, P.HANDLER),
            },
            stamp="resolved_at", effect=_resolve, responds=True,
            schema=ResolveSchema, prepare=_prepare_resolve, summary="Record the resolution (办结).",
            notices=(Notice("resolved", _ENTERPRISE), Notice("resolved_info", (cadre_of,))),
        ),
        ActionSpec(
            "rate", "评价", "Rated",
            # Its own endpoint, POST /problems/{id}/rating (service.rate): a rating row, then `rating_steps`.
            moves={"resolved": _rule(None, P.FILING_ENTERPRISE)},
            # A dissatisfied rating is told by its reopen, to the managers as well.
            notices=(Notice("rated", _HANDLER_AND_CADRE, when=_satisfied, extra=_with_score),),
        ),
        # close and reopen are consequences: of a rating (the enterprise) or of the unrated job.
        ActionSpec(
            "close", "关闭", "Closed",
            moves={"resolved": _rule("closed", P.SYSTEM, P.FILING_ENTERPRISE)},
            stamp="closed_at", effect=_close, asked=False,
        ),
        ActionSpec(
            "reopen", "重新办理", "Reopened",
            moves={"resolved": _rule("in_progress", P.FILING_ENTERPRISE)},
            effect=_reopen, asked=False,
            notices=(Notice("reopened", (*_HANDLER_AND_CADRE, managers)),),
        ),
        ActionSpec(
            "supervise", "督办", "Supervised",
            moves={state: _rule(None, P.MANAGER, P.SYSTEM, guard=NOT_SUPERVISED) for state in OPEN_STATUSES},
            stamp="supervised_at", effect=_supervise,
            schema=NoteSchema, prepare=_plain, summary="Flag an open problem for attention (督办).",
            # The overdue job's supervise is told as the job's `overdue` notice (problems/jobs.py).
            notices=(Notice("supervised", _DOERS_AND_CADRE, when=_by_person),),
        ),
        ActionSpec(
            "extend", "延期", "Extended",
            moves={state: _rule(None, P.MANAGER, guard=BEFORE_DEADLINE) for state in OPEN_STATUSES},
            effect=_extend,
            schema=ExtendSchema, prepare=_prepare_extend,
            summary="Extend the resolution deadline, before it passes (延期).",
            notices=(Notice("extended", (doers, enterprise_users), extra=with_due_at),),
        ),
        ActionSpec(
            "request_extension", "申请延期", "Extension requested",
            moves={
                state: _rule(None, P.HANDLER, guard=NO_PENDING_EXTENSION)
                for state in ("accepted", "in_progress", "awaiting_info")
            },
            stamp="extension_requested_at", effect=_request_extension,
            schema=RequestExtensionSchema, prepare=_prepare_request_extension,
            summary="The handler asks the managers for more working days (申请延期); one request at a time.",
            notices=(Notice("extension_requested", (managers,), extra=_with_days),),
        ),
        ActionSpec(
            "approve_extension", "批准延期", "Extension approved",
            moves={state: _rule(None, P.MANAGER, guard=PENDING_EXTENSION) for state in OPEN_STATUSES},
            effect=_approve_extension,
            schema=NoteSchema, prepare=_prepare_approve_extension,
            summary="Approve the pending extension request: its working days are added to the deadline.",
            notices=(Notice("extension_approved", (doers, enterprise_users), extra=with_due_at),),
        ),
        ActionSpec(
            "deny_extension", "驳回延期", "Extension denied",
            moves={state: _rule(None, P.MANAGER, guard=PENDING_EXTENSION) for state in OPEN_STATUSES},
            effect=_deny_extension,
            schema=ReasonSchema, prepare=_prepare_reason,
            summary="Deny the pending extension request, with a reason.",
            notices=(Notice("extension_denied", (doers,)),),
        ),
        ActionSpec(
            "urge", "催办", "Urged",
            moves={state: _rule(None, P.FILING_ENTERPRISE, guard=NOT_URGED_TODAY) for state in OPEN_STATUSES},
            stamp="last_urged_at", effect=_urge,
            schema=NoteSchema, prepare=_plain,
            summary="Urge the people handling an open problem (催办); once per day (Asia/Shanghai).",
            notices=(Notice("urged", _DOERS_AND_CADRE),),
        ),
        ActionSpec(
            "comment", "留言", "Comment",
            moves={state: _rule(None, P.VIEWER) for state in STATUSES},
            schema=CommentSchema, prepare=_prepare_comment,
            summary="Comment; `internal` comments are hidden from the enterprise.",
            notices=(
                Notice("commented", _DOERS_AND_CADRE, when=_public_by_enterprise, extra=_with_internal),
                Notice("commented", _ENTERPRISE, when=_public_by_staff, extra=_with_internal),
                Notice("commented", (_handler, cadre_of, _department_lead), when=_internal, extra=_with_internal),
            ),
        ),
    )
}

# Derived views of the records: (state, action) -> rule, in the records' order (allowed_actions keeps it).
TRANSITIONS: dict[tuple[str | None, str], Rule] = {
    (state, spec.name): rule for spec in ACTIONS.values() for state, rule in spec.moves.items()
}
# The actions with an endpoint POST /problems/{id}/{action}.
ROUTED: tuple[ActionSpec, ...] = tuple(spec for spec in ACTIONS.values() if spec.schema is not None)

# Event reason codes: return reasons, rating scores and why a problem was closed.
REASON_LABELS = {
    **RETURN_REASONS,
    **{f"score_{n}": f"{n} 分" for n in range(1, 6)},
    **{extension_code(n): f"{n} 个工作日" for n in range(1, 61)},
    "rated": "已评价",
    "unrated": "逾期未评价",
}
