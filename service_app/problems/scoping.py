"""Which problems an actor may see (DESIGN.md §4), as one scoped query every reader starts from.

- enterprise: its own enterprise's problems;
- cadre: problems of enterprises actively linked to it, and problems it handles;
- department: problems dispatched to it, now or in the past;
- manager: all. Admins manage accounts and reference data, not problems: none.
An invisible problem answers 404.

Each condition is shaped so that a page of the list stays an index walk whatever the number of
problems (bench/list_scale.py measures it at 1,000,000): see `dispatched_to` and `visibility`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Boolean, Integer, Select, bindparam, exists, false, or_, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from service_app.auth.models import Role, User
from service_app.common.scoping import get_scoped, in_scope, scoped
from service_app.extensions import db
from service_app.org import scoping as org_scoping
from service_app.org.models import CadreLink
from service_app.problems.models import Problem, ProblemEvent


def dispatched_to(department_id: int):
    """Condition: the problem is, or once was, dispatched to this department.

    One EXISTS on the timeline covers "now" too: `Problem.department_id` is set only by the
    dispatch action, which writes its timeline row in the same transaction (workflow.py), and only
    dispatch rows carry a department (a CHECK constraint on problem_events). Kept alone (not ORed
    with `Problem.department_id = …`) and without the redundant `action = 'dispatch'` (which made
    PostgreSQL underestimate the rows tenfold), it lets the planner merge the department's rows of
    ix_problem_events_department_id_problem_id, newest first, with the problems: a page reads about
    20 of them, instead of hashing every problem ever sent to the department.
    """
    return exists().where(ProblemEvent.problem_id == Problem.id, ProblemEvent.department_id == department_id)


def cadre_pairs() -> Select:
    """(cadre_id, problem_id) of every problem in a cadre's scope: `cadre_scope` for all cadres at once."""
    linked = (
        select(CadreLink.cadre_id.label("cadre_id"), Problem.id.label("problem_id"))
        .join(Problem, Problem.enterprise_id == CadreLink.enterprise_id)
        .where(CadreLink.ended_at.is_(None))
    )
    cadres = select(User.id).where(User.role == Role.CADRE.value)
    return union(linked, select(Problem.handler_id, Problem.id).where(Problem.handler_id.in_(cadres)))


def dispatch_pairs() -> Select:
    """(department_id, problem_id) of every problem and department it is or was dispatched to:
    `dispatched_to` for all departments at once."""
    return (
        select(ProblemEvent.department_id.label("department_id"), ProblemEvent.problem_id.label("problem_id"))
        .where(ProblemEvent.department_id.is_not(None))
        .distinct()
    )


# The scope of a shape of caller (its role) with the caller's ids as bound parameters: a statement
# built on it once serves every caller of that shape (`scope_parameters` gives the values).
_ACTOR_ID = bindparam("scope_actor_id", type_=Integer())
_ENTERPRISE_ID = bindparam("scope_enterprise_id", type_=Integer())
_DEPARTMENT_ID = bindparam("scope_department_id", type_=Integer())
# A cadre's page (`page_scope_shape`): its linked enterprises (a few) are read first and bound one by
# one: with their ids PostgreSQL knows how many problems they hold and picks between walking the
# primary key newest first and combining the enterprise and handler indexes.
_LINKED_IDS = bindparam("scope_linked_ids", type_=Integer(), expanding=True)
CADRE_PAGE = "cadre_page"


class _any_of(FunctionElement):
    """`column = ANY (ARRAY(subquery))` on PostgreSQL, `column IN (subquery)` elsewhere.

    PostgreSQL runs the ARRAY subquery once, before the scan (an InitPlan), and uses its result as
    an index condition, so the cadre's scope can OR two bitmap index scans (its linked enterprises'
    problems, the problems it handles) in the statement that needs it: no round trip to read the
    links first. `IN (subquery)` inside an OR cannot reach an index: it is a hashed subplan
    filtering every candidate row (the to-do's counts at 300,000 problems: 118–133 ms with it,
    14–20 ms with the array).
    SQLite has no arrays and plans `IN (subquery)` as an index lookup of each id it returns.

    Not for a page (ORDER BY id LIMIT n): PostgreSQL guesses ten elements for an array it has not
    read yet, so it estimates ten enterprises' problems and prefers walking the primary key newest
    first — through every problem when the cadre's enterprises have few (170 ms against 0.9 ms with
    the ids bound, at 300,000 problems). Pages bind the ids read first (`page_scope_shape`).
    """

    type = Boolean()
    name = "any_of"
    inherit_cache = True


@compiles(_any_of)
def _compile_in(element, compiler, **kw):
    column, subquery = element.clauses.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(subquery, **kw)}"


@compiles(_any_of, "postgresql")
def _compile_any_array(element, compiler, **kw):
    column, subquery = element.clauses.clauses
    return f"{compiler.process(column, **kw)} = ANY (ARRAY{compiler.process(subquery, **kw)})"


def cadre_scope(cadre_id: Any):
    """Condition: a problem of an enterprise actively linked to the cadre, or one it handles.

    The linked enterprises are read in the same statement (`_any_of`: on PostgreSQL once, before
    the scan, so both halves of the OR stay index scans). `cadre_id` is a value or a bound parameter.
    """
    linked = org_scoping.linked_enterprise_ids(cadre_id).scalar_subquery()
    return or_(_any_of(Problem.enterprise_id, linked), Problem.handler_id == cadre_id)


def scope_shape(actor: User) -> str:
    """The shape of the caller's scope: its role, or `none` (an admin, a department account without one)."""
    if actor.role == Role.DEPARTMENT.value and actor.department_id is None:
        return "none"
    if actor.role in (Role.MANAGER.value, Role.ENTERPRISE.value, Role.CADRE.value, Role.DEPARTMENT.value):
        return actor.role
    return "none"


@cache
def _linked_statement() -> Select:
    return org_scoping.linked_enterprise_ids(_ACTOR_ID)


def page_scope_shape(actor: User) -> str:
    """`scope_shape` for a page statement: a cadre's is `CADRE_PAGE`, its linked enterprises read
    first and bound (see `_any_of` for why a page does not read them itself)."""
    shape = scope_shape(actor)
    return CADRE_PAGE if shape == Role.CADRE.value else shape


@cache
def scope_condition(shape: str):
    """A WHERE condition on Problem for callers of `shape` with bound parameters, or None (all)."""
    if shape == Role.MANAGER.value:
        return None
    if shape == Role.ENTERPRISE.value:
        return Problem.enterprise_id == _ENTERPRISE_ID
    if shape == Role.CADRE.value:
        return cadre_scope(_ACTOR_ID)
    if shape == CADRE_PAGE:
        return or_(Problem.enterprise_id.in_(_LINKED_IDS), Problem.handler_id == _ACTOR_ID)
    if shape == Role.DEPARTMENT.value:
        return dispatched_to(_DEPARTMENT_ID)
    return false()


def scope_parameters(actor: User, shape: str) -> dict[str, Any]:
    """The values of `scope_condition(shape)`'s parameters for `actor` (a cadre's linked enterprises
    are read for `CADRE_PAGE`; the `cadre` shape reads them in its own statement)."""
    if shape == Role.ENTERPRISE.value:
        return {"scope_enterprise_id": actor.enterprise_id}
    if shape == Role.CADRE.value:
        return {"scope_actor_id": actor.id}
    if shape == CADRE_PAGE:
        # Built once, run on the session's connection for plain ids (after the session's autoflush):
        # built per request and run through the ORM, this read cost as much as the page.
        if db.session.autoflush:
            db.session.flush()
        linked = db.session.connection().execute(_linked_statement(), {"scope_actor_id": actor.id}).scalars().all()
        return {"scope_actor_id": actor.id, "scope_linked_ids": list(linked)}
    if shape == Role.DEPARTMENT.value:
        return {"scope_department_id": actor.department_id}
    return {}


def visibility(actor: User):
    """A WHERE condition on Problem for `actor`, or None when it sees everything."""
    shape = scope_shape(actor)
    condition = scope_condition(shape)
    if condition is None or shape == "none":  # all, or nothing (false(), which takes no parameters)
        return condition
    return condition.params(scope_parameters(actor, shape))


def visible_problems(actor: User) -> Select:
    """SELECT of Problem rows scoped to `actor`; list queries are always built from this, or from
    `visible_problems_of_shape` run with `scope_parameters` when the statement is built once."""
    return scoped(Problem, visibility(actor))


def visible_problems_of_shape(shape: str) -> Select:
    """`visible_problems` of callers of `shape`, to run with `scope_parameters`: for statements built once."""
    return scoped(Problem, scope_condition(shape))


def get_visible_problem(actor: User, problem_id: int, *, for_update: bool = False) -> Problem:
    return get_scoped(Problem, visibility(actor), problem_id, for_update=for_update)


def can_view_problem(actor: User, problem_id: int) -> bool:
    return in_scope(Problem, visibility(actor), problem_id)


def department_enterprise_ids(department_id: int) -> Select:
    """Enterprise ids whose problems reached the department: it sees their basic information."""
    return select(Problem.enterprise_id).where(dispatched_to(department_id))


def raised_during_visit(visit_id: int) -> list[int]:
    """Ids of the problems filed during a visit, oldest first (the visit's own scope was checked)."""
    return list(db.session.scalars(select(Problem.id).where(Problem.visit_id == visit_id).order_by(Problem.id)))
