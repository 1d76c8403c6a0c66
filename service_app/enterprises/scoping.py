"""Which enterprises an actor may see: the object-level rule of enterprise profiles, lists and exports.

- enterprise: only its own; cadre: enterprises with an active link to it; department: enterprises
  whose problems were dispatched to it (now or before); manager and admin: all.
An enterprise the actor may not see answers 404 (no existence leak).
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from service_app.auth.models import Role, User
from service_app.errors import NotFound
from service_app.extensions import db
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


def visible_enterprises(actor: User) -> Select:
    """SELECT of Enterprise rows scoped to `actor`; list endpoints always start from this."""
    query = select(Enterprise)
    ids = visible_enterprise_ids(actor)
    return query if ids is None else query.where(Enterprise.id.in_(ids))


def get_visible_enterprise(actor: User, enterprise_id: int) -> Enterprise:
    """The enterprise if `actor` may see it; otherwise 404, exactly as if it did not exist."""
    enterprise = db.session.scalar(visible_enterprises(actor).where(Enterprise.id == enterprise_id))
    if enterprise is None:
        raise NotFound()
    return enterprise


def can_see_enterprise(actor: User, enterprise_id: int) -> bool:
    ids = visible_enterprise_ids(actor)
    if ids is None:
        return True
    query = select(Enterprise.id).where(Enterprise.id == enterprise_id, Enterprise.id.in_(ids))
    return db.session.scalar(query) is not None
