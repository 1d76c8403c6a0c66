"""Which visits an actor may see: a cadre its own, managers all, everyone else none (404)."""

from __future__ import annotations

from sqlalchemy import Select, false, select

from service_app.auth.models import Role, User
from service_app.errors import NotFound
from service_app.extensions import db
from service_app.visits.models import Visit


def visibility(actor: User):
    if actor.role == Role.MANAGER.value:
        return None
    if actor.role == Role.CADRE.value:
        return Visit.cadre_id == actor.id
    return false()


def visible_visits(actor: User) -> Select:
    condition = visibility(actor)
    query = select(Visit)
    return query if condition is None else query.where(condition)


def get_visible_visit(actor: User, visit_id: int, *, for_update: bool = False) -> Visit:
    query = visible_visits(actor).where(Visit.id == visit_id)
    if for_update:
        query = query.with_for_update(of=Visit)
    visit = db.session.scalar(query)
    if visit is None:
        raise NotFound()
    return visit


def can_view_visit(actor: User, visit_id: int) -> bool:
    condition = visibility(actor)
    query = select(Visit.id).where(Visit.id == visit_id)
    if condition is not None:
        query = query.where(condition)
    return db.session.scalar(query) is not None
