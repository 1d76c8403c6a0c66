"""Which visits an actor may see: a cadre its own, managers all, everyone else none (404)."""

from __future__ import annotations

from sqlalchemy import Select, false

from service_app.auth.models import Role, User
from service_app.common.scoping import get_scoped, in_scope, scoped
from service_app.visits.models import Visit


def visibility(actor: User):
    if actor.role == Role.MANAGER.value:
        return None
    if actor.role == Role.CADRE.value:
        return Visit.cadre_id == actor.id
    return false()


def visible_visits(actor: User) -> Select:
    return scoped(Visit, visibility(actor))


def get_visible_visit(actor: User, visit_id: int, *, for_update: bool = False) -> Visit:
    return get_scoped(Visit, visibility(actor), visit_id, for_update=for_update)


def can_view_visit(actor: User, visit_id: int) -> bool:
    return in_scope(Visit, visibility(actor), visit_id)
