"""The problem life cycle as data (DESIGN.md §4), and the one function that applies it.

`TRANSITIONS` maps (current state, action) to a `Rule`: the next state (None: the state stays,
e.g. a comment) and the parties who may do it, each a role plus a relation to the problem
("a cadre linked to the enterprise", "staff of the department it is dispatched to now"…).
`transition` is the only code that assigns `Problem.status`: it checks the rule, applies the
action's effect, stamps times, bumps `version`/`updated_at`, writes the timeline row and queues
notifications, all in the caller's transaction.

    submitted ─accept→ accepted ─dispatch→ dispatched ─claim→ in_progress ─resolve→ resolved ─rate ≥3/unrated→ closed
        └─reject→ rejected   │    ▲                 │                  │                  └─rate ≤2→ in_progress
                             │    └────return───────┴──────────────────┘
                             └─resolve→ resolved  (the linked cadre solves it directly)
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service_app.auth.models import Role, User
from service_app.common.time import as_utc
from service_app.errors import Conflict, Forbidden
from service_app.extensions import db
from service_app.notifications.service import notify
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

# Roles that work with problems at all; admins manage accounts and reference data only.
PROBLEM_ROLES = (Role.ENTERPRISE, Role.CADRE, Role.DEPARTMENT, Role.MANAGER)


class Party(str, enum.Enum):
    """Who may act: a role together with its relation to the problem."""

    FILING_ENTERPRISE = "filing_enterprise"  # a user of the enterprise the problem is about
    LINKED_CADRE = "linked_cadre"  # a cadre actively linked to that enterprise
    DEPARTMENT_STAFF = "department_staff"  # staff of the department it is dispatched to now
    HANDLER = "handler"  # the person handling it now (claimer, or the cadre after a reopen)
    MANAGER = "manager"
    VIEWER = "viewer"  # anyone who can see the problem
    SYSTEM = "system"  # a scheduled job: no actor


PARTY_ROLES: dict[Party, frozenset[Role]] = {
    Party.FILING_ENTERPRISE: frozenset({Role.ENTERPRISE}),
    Party.LINKED_CADRE: frozenset({Role.CADRE}),
    Party.DEPARTMENT_STAFF: frozenset({Role.DEPARTMENT}),
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

P = Party
TRANSITIONS: dict[tuple[str | None, str], Rule] = {
    (None, "submit"): _rule("submitted", P.FILING_ENTERPRISE, P.LINKED_CADRE),
    ("submitted", "accept"): _rule("accepted", P.LINKED_CADRE, P.MANAGER),
    ("submitted", "reject"): _rule("rejected", P.LINKED_CADRE, P.MANAGER),
    ("accepted", "dispatch"): _rule("dispatched", P.LINKED_CADRE, P.MANAGER),
    # A manager may reassign a problem to another department (DESIGN §4: "reassign").
    ("dispatched", "dispatch"): _rule("dispatched", P.MANAGER),
    ("in_progress", "dispatch"): _rule("dispatched", P.MANAGER),
    ("accepted", "resolve"): _rule("resolved", P.LINKED_CADRE),
    ("dispatched", "claim"): _rule("in_progress", P.DEPARTMENT_STAFF),
    ("dispatched", "return"): _rule("accepted", P.DEPARTMENT_STAFF),
    ("in_progress", "return"): _rule("accepted", P.DEPARTMENT_STAFF),
    ("in_progress", "resolve"): _rule("resolved", P.DEPARTMENT_STAFF, P.HANDLER),
    ("resolved", "rate"): _rule(None, P.FILING_ENTERPRISE),
    # close and reopen are consequences: of a rating (the enterprise) or of the unrated job.
    ("resolved", "close"): _rule("closed", P.SYSTEM, P.FILING_ENTERPRISE),
    ("resolved", "reopen"): _rule("in_progress", P.FILING_ENTERPRISE),
    **{(state, "supervise"): _rule(None, P.MANAGER, P.SYSTEM, guard=NOT_SUPERVISED) for state in OPEN_STATUSES},
    **{(state, "extend"): _rule(None, P.MANAGER, guard=BEFORE_DEADLINE) for state in OPEN_STATUSES},
    **{(state, "comment"): _rule(None, P.VIEWER) for state in STATUSES},
}

# Actions a client performs with POST /problems/{id}/{action}; `rate` has its own endpoint.
USER_ACTIONS = ("accept", "reject", "dispatch", "claim", "return", "resolve", "supervise", "extend", "comment")
# What `allowed_actions` may list: what a client can ask for, not the consequences it causes.
LISTED_ACTIONS = frozenset(USER_ACTIONS + ("rate",))
# The first of these is the response the response deadline measures.
RESPONSE_ACTIONS = frozenset({"accept", "reject", "resolve"})

STAMPS = {
    "accept": "accepted_at",
    "dispatch": "dispatched_at",
    "claim": "claimed_at",
    "resolve": "resolved_at",
    "close": "closed_at",
    "supervise": "supervised_at",
}

ACTION_LABELS = {
    "submit": ("提交", "Submitted"),
    "accept": ("受理", "Accepted"),
    "reject": ("不予受理", "Rejected"),
    "dispatch": ("派单", "Dispatched"),
    "claim": ("签收", "Claimed"),
    "return": ("退单", "Returned"),
    "resolve": ("办结", "Resolved"),
    "supervise": ("督办", "Supervised"),
    "extend": ("延期", "Extended"),
    "comment": ("留言", "Comment"),
    "rate": ("评价", "Rated"),
    "close": ("关闭", "Closed"),
    "reopen": ("重新办理", "Reopened"),
}

# Event reason codes: return reasons, rating scores and why a problem was closed.
REASON_LABELS = {
    **RETURN_REASONS,
    **{f"score_{n}": f"{n} 分" for n in range(1, 6)},
    "rated": "已评价",
    "unrated": "逾期未评价",
}


class InvalidTransition(Conflict):
    """409: the action is not possible in the problem's current state (or its guard fails)."""

    error_code = "invalid_transition"


@dataclass(frozen=True)
class Params:
    """What an action carries besides its name; the service validates it first."""

    note: str | None = None
    reason_code: str | None = None
    department_id: int | None = None
    duplicate_of_id: int | None = None
    due_at: datetime | None = None
    internal: bool = False
    closed_reason: str | None = None


@functools.cache
def roles_for(action: str) -> tuple[Role, ...]:
    """Every role that may ever do `action` (another role gets 403, whatever the problem)."""
    roles = set().union(*(PARTY_ROLES[p] for (_s, a), rule in TRANSITIONS.items() if a == action for p in rule.who))
    return tuple(role for role in Role if role in roles)


def relations(problem: Problem, actor: User | None) -> frozenset[Party]:
    """The parties `actor` belongs to for this problem. The caller has checked it may see it."""
    if actor is None:
        return frozenset({Party.SYSTEM})
    found = {Party.VIEWER}
    if actor.role == Role.MANAGER.value:
        found.add(Party.MANAGER)
    elif actor.role == Role.ENTERPRISE.value and actor.enterprise_id == problem.enterprise_id:
        found.add(Party.FILING_ENTERPRISE)
    elif actor.role == Role.CADRE.value and is_linked(actor.id, problem.enterprise_id):
        found.add(Party.LINKED_CADRE)
    elif (
        actor.role == Role.DEPARTMENT.value
        and problem.department_id is not None
        and actor.department_id == problem.department_id
    ):
        found.add(Party.DEPARTMENT_STAFF)
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
        if state == problem.status and action in LISTED_ACTIONS and _permits(rule, parties, problem, now)
    ]


def ensure_role(actor: User | None, action: str) -> None:
    """403 when the actor's role may never do `action` (checked before the problem is looked up)."""
    if actor is not None and Role(actor.role) not in roles_for(action):
        raise Forbidden()


def check(problem: Problem, action: str, actor: User | None, *, now: datetime) -> Rule:
    """The rule for `action` now, or: 403 (role or relation), 409 (state or guard)."""
    ensure_role(actor, action)
    parties = relations(problem, actor)
    rule = TRANSITIONS.get((problem.status, action))
    if rule is None:
        raise _invalid(problem, actor, parties, now)
    if not rule.who & parties:
        raise Forbidden()
    if rule.guard is not None and not rule.guard.holds(problem, now):
        guard = rule.guard
        raise _invalid(problem, actor, parties, now, key=guard.message_key, zh=guard.zh, en=guard.en)
    return rule


def _invalid(
    problem, actor, parties, now, *, key: str | None = None, zh: str | None = None, en: str | None = None
) -> InvalidTransition:
    status = problem.status
    return InvalidTransition(
        key,
        zh=zh or f"当前状态（{STATUS_LABELS[status]}）不允许此操作",
        en=en or f"This action is not allowed while the problem is {STATUS_LABELS_EN[status].lower()}",
        extra={"current_status": status, "allowed_actions": allowed_actions(problem, actor, now=now, parties=parties)},
    )


def transition(
    problem: Problem, action: str, *, actor: User | None, now: datetime, params: Params = Params()
) -> ProblemEvent:
    """Apply `action` to `problem`: the one way a problem changes. Flushes only when it must."""
    rule = check(problem, action, actor, now=now)
    before = problem.status
    EFFECTS.get(action, _no_effect)(problem, actor, params)
    if rule.to is not None:
        problem.status = rule.to
    if action in STAMPS:
        setattr(problem, STAMPS[action], now)
    if action in RESPONSE_ACTIONS and problem.first_response_at is None:
        problem.first_response_at = now
    problem.version = (problem.version or 0) + 1
    problem.updated_at = now
    if problem.id is None:  # a new problem: the event and notices need its id
        db.session.add(problem)
        db.session.flush()
    event = ProblemEvent(
        problem_id=problem.id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        from_status=before,
        to_status=problem.status,
        note=params.note,
        reason_code=params.reason_code or params.closed_reason,
        department_id=params.department_id if action == "dispatch" else None,
        internal=params.internal,
        created_at=now,
    )
    db.session.add(event)
    NOTICES.get(action, _no_notice)(problem, actor, params)
    return event


# --- effects: what each action changes besides the status and the time stamps -------------------


def _no_effect(problem: Problem, actor: User | None, params: Params) -> None:
    return None


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


def _close(problem: Problem, actor: User | None, params: Params) -> None:
    problem.closed_reason = params.closed_reason


def _reopen(problem: Problem, actor: User | None, params: Params) -> None:
    # Not resolved until resolved again (DESIGN §4); the old resolution stays in the timeline.
    problem.reopen_count = (problem.reopen_count or 0) + 1
    problem.resolution = None
    problem.resolved_at = None


EFFECTS: dict[str, Callable[[Problem, User | None, Params], None]] = {
    "accept": _accept,
    "reject": _reject,
    "dispatch": _dispatch,
    "claim": _claim,
    "return": _return,
    "resolve": _resolve,
    "supervise": _supervise,
    "extend": _extend,
    "close": _close,
    "reopen": _reopen,
}


# --- notices: who hears about each action (queued in the same transaction) ---------------------


def _active_users(*conditions) -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.is_active.is_(True), *conditions).order_by(User.id)))


def _department_staff(department_id: int | None) -> list[int]:
    if department_id is None:
        return []
    return _active_users(User.role == Role.DEPARTMENT.value, User.department_id == department_id)


def _enterprise_users(enterprise_id: int) -> list[int]:
    return _active_users(User.role == Role.ENTERPRISE.value, User.enterprise_id == enterprise_id)


def _managers() -> list[int]:
    return _active_users(User.role == Role.MANAGER.value)


def _workers(problem: Problem) -> list[int]:
    """Who is working on it: the handler (or, unclaimed, the department's staff) and the cadre."""
    doers = [problem.handler_id] if problem.handler_id is not None else _department_staff(problem.department_id)
    return [*doers, problem.cadre_id]


def _send(user_ids, problem: Problem, kind: str, title: str, actor: User | None, **data) -> None:
    others = [uid for uid in user_ids if actor is None or uid != actor.id]
    notify(
        others,
        kind=kind,
        title=f"{title}：{problem.title}",
        body=problem.code,
        problem_id=problem.id,
        data={"code": problem.code, "status": problem.status, **data},
    )


def _no_notice(problem: Problem, actor: User | None, params: Params) -> None:
    return None


def _notice_submit(problem, actor, params):
    _send([problem.cadre_id], problem, "assigned", "新问题待受理", actor)


def _notice_dispatch(problem, actor, params):
    _send(_department_staff(problem.department_id), problem, "dispatched", "新派单待签收", actor)


def _notice_return(problem, actor, params):
    _send([problem.cadre_id], problem, "returned", "问题被退回", actor, reason_code=params.reason_code)


def _notice_resolve(problem, actor, params):
    _send(_enterprise_users(problem.enterprise_id), problem, "resolved", "问题已办结，请评价", actor)


def _notice_supervise(problem, actor, params):
    if actor is None:  # the overdue job
        _send([*_managers(), *_workers(problem)], problem, "overdue", "问题已超期", actor)
    else:
        _send(_workers(problem), problem, "supervised", "问题被督办", actor)


def _notice_rate(problem, actor, params):
    _send([problem.handler_id, problem.cadre_id], problem, "rated", "企业已评价", actor, reason_code=params.reason_code)


def _notice_reopen(problem, actor, params):
    _send([problem.handler_id, problem.cadre_id], problem, "reopened", "企业不满意，问题重新办理", actor)


NOTICES: dict[str, Callable[[Problem, User | None, Params], None]] = {
    "submit": _notice_submit,
    "dispatch": _notice_dispatch,
    "return": _notice_return,
    "resolve": _notice_resolve,
    "supervise": _notice_supervise,
    "rate": _notice_rate,
    "reopen": _notice_reopen,
}
