"""What the caller has to do next, counted in one SQL statement.

Each role has its keys (DESIGN §9, §15) and they are exclusive: a problem counts under the first key
whose condition it meets, in the order listed — a deadline first (overdue, then due soon), then
what the problem waits for. Only problems the caller acts on next are counted (a cadre's problem
dispatched to a department is the department's to-do, not the cadre's). The conditions come from
the rules' homes: scope from `problems.scoping`, deadlines from `problems.sla`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)

from service_app.auth.models import Role, User
from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems import sla
from service_app.problems.models import OPEN_STATUSES, Problem, ProblemEvent, Rating
from service_app.problems.scoping import cadre_scope
from service_app.problems.sla import constant, status_in
from service_app.visits.models import Visit

Keys = list[tuple[str, ColumnElement[bool]]]


# The statement is built once per shape of caller (role, lead or not, in a department or not) with
# the caller and the moment as bound parameters: building it and deriving SQLAlchemy's cache key
# for its hundred-odd nodes at every request cost more than running it.
NOW = bindparam("now", type_=UTCDateTime())
HORIZON = bindparam("horizon", type_=UTCDateTime())


@dataclass(frozen=True)
class _Caller:
    """What the role functions read of the actor: its shape as values, its ids as bound parameters."""

    role: str
    is_lead: bool
    in_department: bool
    id: ClassVar[Any] = bindparam("actor_id", type_=Integer())
    enterprise_id: ClassVar[Any] = bindparam("enterprise_id", type_=Integer())

    @property
    def department_id(self) -> Any:
        return _DEPARTMENT_ID if self.in_department else None


_DEPARTMENT_ID = bindparam("department_id", type_=Integer())


def _status(status: str) -> ColumnElement[bool]:
    return Problem.status == constant(status)


def _unrated() -> ColumnElement[bool]:
    rated = exists().where(Rating.problem_id == Problem.id, Rating.resolution_no == Problem.reopen_count)
    return and_(_status("resolved"), ~rated)


def _returned() -> ColumnElement[bool]:
    # Only `accept` (from submitted, once) and `return` lead to accepted: accepted with a return
    # in its timeline came back from a department.
    return exists().where(ProblemEvent.problem_id == Problem.id, ProblemEvent.action == constant("return"))


def _deadlines(now: Any) -> Keys:
    return [("overdue", sla.overdue_clause(now)), ("due_soon", sla.due_soon_clause(now, horizon=HORIZON))]


def _enterprise(actor: _Caller, now: Any) -> tuple[ColumnElement[bool], Keys]:
    keys = [("to_rate", _unrated()), ("awaiting_info", _status("awaiting_info"))]
    return Problem.enterprise_id == actor.enterprise_id, keys


def _cadre(actor: _Caller, now: Any) -> tuple[ColumnElement[bool], Keys]:
    acts_on = and_(
        cadre_scope(actor.id),
        or_(
            status_in(("submitted", "accepted")),
            and_(Problem.handler_id == actor.id, status_in(OPEN_STATUSES)),
        ),
    )
    keys = [
        *_deadlines(now),
        ("to_accept", _status("submitted")),
        ("returned", and_(_status("accepted"), _returned())),
        ("to_dispatch", _status("accepted")),
    ]
    return acts_on, keys


def _department(actor: _Caller, now: Any) -> tuple[ColumnElement[bool], Keys]:
    if actor.department_id is None:
        return false(), []
    # The lead assigns: a problem of the department in progress with nobody or the lead itself as
    # its handler (claimed by the lead, not yet given to a colleague) waits for that.
    to_assign = (
        and_(_status("in_progress"), or_(Problem.handler_id.is_(None), Problem.handler_id == actor.id))
        if actor.is_lead
        else false()
    )
    acts_on = and_(
        Problem.department_id == actor.department_id,
        or_(
            _status("dispatched"),
            and_(Problem.handler_id == actor.id, status_in(("in_progress", "awaiting_info"))),
            to_assign,
        ),
    )
    keys = [
        *_deadlines(now),
        ("to_claim", _status("dispatched")),
        *([("to_assign", to_assign)] if actor.is_lead else []),
        ("in_progress", _status("in_progress")),
        ("awaiting_info", _status("awaiting_info")),
    ]
    return acts_on, keys


def _manager(actor: _Caller, now: Any) -> tuple[ColumnElement[bool], Keys]:
    supervised = and_(Problem.supervised, status_in(OPEN_STATUSES))
    pending = and_(Problem.extension_request_days.is_not(None), status_in(OPEN_STATUSES))
    return true(), [("overdue", sla.overdue_clause(now)), ("extension_requests", pending), ("supervised", supervised)]


ROLE_KEYS = {
    Role.ENTERPRISE.value: _enterprise,
    Role.CADRE.value: _cadre,
    Role.DEPARTMENT.value: _department,
    Role.MANAGER.value: _manager,
}


def todo_counts(*, actor: User, now: datetime | None = None) -> dict[str, Any]:
    """`{"counts": {key: n}, "unread_notifications": n}` for the caller, in one statement."""
    now = now or utcnow()
    query, names, extra, uses_horizon = _statement(
        _Caller(role=actor.role, is_lead=bool(actor.is_lead), in_department=actor.department_id is not None)
    )
    parameters = {
        "actor_id": actor.id,
        "enterprise_id": actor.enterprise_id,
        "department_id": actor.department_id,
        "now": now,
        **({"horizon": sla.due_soon_horizon(now)} if uses_horizon else {}),
    }
    # A Core row from the session's connection: the counts need none of the ORM's result handling.
    row = db.session.connection().execute(query, parameters).one()._mapping
    counts = {name: row[name] for name in names} | {name: row[name] for name in extra}
    return {"counts": counts, "unread_notifications": row["unread"]}


@cache
def _statement(actor: _Caller) -> tuple[Select, list[str], list[str], bool]:
    """The to-do statement of callers of this shape, the names of its counts and extras, and whether
    it takes the due-soon horizon."""
    now = NOW
    acts_on, keys = ROLE_KEYS[actor.role](actor, now) if actor.role in ROLE_KEYS else (false(), [])
    unread = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )
    extra = {}
    if actor.role == Role.MANAGER.value:
        pending = select(func.count()).select_from(Visit).where(Visit.flagged, Visit.review.is_(None))
        extra["flagged_visits"] = pending.scalar_subquery()  # flagged check-ins no manager has reviewed
    if keys:
        key = case(*((condition, constant(name)) for name, condition in keys), else_=None).label("key")
        # OFFSET 0 keeps the subquery a subquery: flattened, PostgreSQL copied the CASE (its EXISTS
        # subplans included) into every count's FILTER and planned it once per key, which took longer
        # than counting (0.55 → 0.18 ms of planning for a cadre on the demo data).
        todo = select(key).where(acts_on).offset(literal_column("0")).subquery()
        counted = [func.count().filter(todo.c.key == constant(name)).label(name) for name, _ in keys]
        others = [value.label(name) for name, value in extra.items()]
        query = select(*counted, *others, unread.label("unread")).select_from(todo)
    else:
        query = select(unread.label("unread"))
    return query, [name for name, _ in keys], list(extra), any(name == "due_soon" for name, _ in keys)
