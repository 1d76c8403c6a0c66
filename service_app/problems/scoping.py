"""Which problems an actor may see (DESIGN.md §4), as one scoped query every reader starts from.

- enterprise: its own enterprise's problems;
- cadre: problems of enterprises actively linked to it, and problems it handles;
- department: problems dispatched to it, now or in the past;
- manager: all. Admins manage accounts and reference data, not problems: none.
An invisible problem answers 404.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, false, or_, select

from service_app.auth.models import Role, User
from service_app.errors import NotFound
from service_app.extensions import db
from service_app.org import scoping as org_scoping
from service_app.problems.models import Problem, ProblemEvent


def dispatched_to(department_id: int):
    """Condition: the problem is, or once was, dispatched to this department."""
    return or_(
        Problem.department_id == department_id,
        exists().where(
            ProblemEvent.problem_id == Problem.id,
            ProblemEvent.action == "dispatch",
            ProblemEvent.department_id == department_id,
        ),
    )


def visibility(actor: User):
    """A WHERE condition on Problem for `actor`, or None when it sees everything."""
    if actor.role == Role.MANAGER.value:
        return None
    if actor.role == Role.ENTERPRISE.value:
        return Problem.enterprise_id == actor.enterprise_id
    if actor.role == Role.CADRE.value:
        return or_(Problem.enterprise_id.in_(org_scoping.linked_enterprise_ids(actor.id)), Problem.handler_id == actor.id)
    if actor.role == Role.DEPARTMENT.value and actor.department_id is not None:
        return dispatched_to(actor.department_id)
    return false()


def visible_problems(actor: User) -> Select:
    """SELECT of Problem rows scoped to `actor`; list queries are always built from this."""
    condition = visibility(actor)
    query = select(Problem)
    return query if condition is None else query.where(condition)


def get_visible_problem(actor: User, problem_id: int, *, for_update: bool = False) -> Problem:
    query = visible_problems(actor).where(Problem.id == problem_id)
    if for_update:
        query = query.with_for_update(of=Problem)
    problem = db.session.scalar(query)
    if problem is None:
        raise NotFound()
    return problem


def can_view_problem(actor: User, problem_id: int) -> bool:
    condition = visibility(actor)
    query = select(Problem.id).where(Problem.id == problem_id)
    if condition is not None:
        query = query.where(condition)
    return db.session.scalar(query) is not None


def _department_enterprises(department_id: int) -> Select:
    return select(Problem.enterprise_id).where(dispatched_to(department_id))


# Departments see the basic information of enterprises whose problems reached them.
org_scoping.register_department_scope(_department_enterprises)
