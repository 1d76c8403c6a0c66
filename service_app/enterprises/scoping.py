"""Which enterprises an actor may see: the object-level rule of enterprise profiles, lists and exports.

- enterprise: only its own; cadre: enterprises with an active link to it; department: enterprises
  whose problems were dispatched to it (now or before); manager and admin: all.
An enterprise the actor may not see answers 404 (no existence leak).
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from service_app.auth.models import Role, User
from service_app.common.scoping import get_scoped, in_scope, scoped
from service_app.org.models import Enterprise
from service_app.org.scoping import linked_enterprise_ids
from service_app.problems.scoping import department_enterprise_ids


def visible_enterprise_ids(actor: User) -> Select | None:
    """A SELECT of the enterprise ids `actor` may see, or None for all of them."""
    if actor.role in (Role.MANAGER.value, Role.ADMIN.value):
        return None
    if actor.role == Role.ENTERPRISE.value:
        return select(Enterprise.id).where(Enterprise.id == actor.enterprise_id)
    if actor.role == Role.CADRE.value:
        return linked_enterprise_ids(actor.id)
    if actor.role == Role.DEPARTMENT.value and actor.department_id is not None:
        return department_enterprise_ids(actor.department_id)
    return select(Enterprise.id).where(false())


def visibility(actor: User):
    """A WHERE condition on Enterprise for `actor`, or None when it sees everything."""
    ids = visible_enterprise_ids(actor)
    return None if ids is None else Enterprise.id.in_(ids)


def visible_enterprises(actor: User) -> Select:
    """SELECT of Enterprise rows scoped to `actor`; list endpoints always start from this."""
    return scoped(Enterprise, visibility(actor))


def get_visible_enterprise(actor: User, enterprise_id: int) -> Enterprise:
    """The enterprise if `actor` may see it; otherwise 404, exactly as if it did not exist."""
    return get_scoped(Enterprise, visibility(actor), enterprise_id)


def can_see_enterprise(actor: User, enterprise_id: int) -> bool:
    return in_scope(Enterprise, visibility(actor), enterprise_id)
