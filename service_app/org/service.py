"""Reference lists, administration of enterprises, and cadre links."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_app.auth.models import Role, User
from service_app.common.i18n import bilingual
from service_app.common.pagination import Page, keyset_page
from service_app.common.patch import UNCHANGED, sent
from service_app.common.references import check_references
from service_app.common.time import SHANGHAI, utcnow
from service_app.common.transactions import commit_or_conflict
from service_app.errors import Conflict, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.org.models import CadreLink, Category, Chain, Department, Enterprise, Park


def list_parks() -> list[Park]:
    return list(db.session.scalars(select(Park).order_by(Park.id)))


def list_chains() -> list[Chain]:
    return list(db.session.scalars(select(Chain).order_by(Chain.id)))


def list_departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.id)))


def list_categories() -> list[Category]:
    """Active categories in their display order."""
    query = (
        select(Category)
        .options(joinedload(Category.default_department))
        .where(Category.is_active.is_(True))
        .order_by(Category.sort_order, Category.id)
    )
    return list(db.session.scalars(query))


def list_links(
    *,
    active: bool,
    cadre_id: int | None = None,
    enterprise_id: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """Cadre ↔ enterprise pairings in id order; `active` leaves out ended ones."""
    query = select(CadreLink)
    if active:
        query = query.where(CadreLink.ended_at.is_(None))
    if cadre_id is not None:
        query = query.where(CadreLink.cadre_id == cadre_id)
    if enterprise_id is not None:
        query = query.where(CadreLink.enterprise_id == enterprise_id)
    return keyset_page(
        query, columns=[CadreLink.id], kinds=[int], limit=limit, cursor=cursor, descending=False, session=db.session
    )


def _check_refs(*, park_id: int | None, chain_id: int | None) -> None:
    check_references(park_id=(Enterprise.park_id, park_id), chain_id=(Enterprise.chain_id, chain_id))


def _credit_code_taken(code: str, *, except_id: int | None = None) -> bool:
    query = select(Enterprise.id).where(Enterprise.credit_code == code)
    if except_id is not None:
        query = query.where(Enterprise.id != except_id)
    return db.session.scalar(query) is not None


def _conflict_credit_code() -> Conflict:
    return Conflict("credit_code_taken", errors={"credit_code": [bilingual("已存在", "Already registered")]})


def create_enterprise(
    *,
    name: str,
    credit_code: str,
    address: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    park_id: int | None = None,
    chain_id: int | None = None,
    scale: str | None = None,
    industry: str | None = None,
    legal_representative: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    established_on: date | None = None,
    description: str | None = None,
) -> Enterprise:
    """Register an enterprise; a credit code already registered is a 409."""
    _check_refs(park_id=park_id, chain_id=chain_id)
    if _credit_code_taken(credit_code):
        raise _conflict_credit_code()
    enterprise = Enterprise(
        name=name,
        credit_code=credit_code,
        address=address,
        lat=lat,
        lng=lng,
        park_id=park_id,
        chain_id=chain_id,
        scale=scale,
        industry=industry,
        legal_representative=legal_representative,
        contact_name=contact_name,
        contact_phone=contact_phone,
        established_on=established_on,
        description=description,
    )
    db.session.add(enterprise)
    commit_or_conflict(_conflict_credit_code())
    return enterprise


def update_enterprise(
    *,
    enterprise_id: int,
    name: str = UNCHANGED,
    credit_code: str = UNCHANGED,
    address: str | None = UNCHANGED,
    lat: float | None = UNCHANGED,
    lng: float | None = UNCHANGED,
    park_id: int | None = UNCHANGED,
    chain_id: int | None = UNCHANGED,
    scale: str | None = UNCHANGED,
    industry: str | None = UNCHANGED,
    legal_representative: str | None = UNCHANGED,
    contact_name: str | None = UNCHANGED,
    contact_phone: str | None = UNCHANGED,
    established_on: date | None = UNCHANGED,
    description: str | None = UNCHANGED,
) -> Enterprise:
    """Change the fields a PATCH sent; a credit code another enterprise has is a 409."""
    enterprise = db.session.get(Enterprise, enterprise_id, with_for_update=True)
    if enterprise is None:
        raise NotFound()
    changes = sent(
        name=name,
        credit_code=credit_code,
        address=address,
        lat=lat,
        lng=lng,
        park_id=park_id,
        chain_id=chain_id,
        scale=scale,
        industry=industry,
        legal_representative=legal_representative,
        contact_name=contact_name,
        contact_phone=contact_phone,
        established_on=established_on,
        description=description,
    )
    _check_refs(park_id=changes.get("park_id"), chain_id=changes.get("chain_id"))
    if "credit_code" in changes and _credit_code_taken(changes["credit_code"], except_id=enterprise.id):
        raise _conflict_credit_code()
    for key, value in changes.items():
        setattr(enterprise, key, value)
    commit_or_conflict(_conflict_credit_code())
    return enterprise


def create_link(
    *, cadre_id: int, enterprise_id: int, role: str = "primary", started_on: date | None = None
) -> CadreLink:
    cadre = db.session.get(User, cadre_id)
    errors = {}
    if cadre is None or cadre.role != Role.CADRE.value:
        errors["cadre_id"] = [bilingual("不是联企干部账号", "Not a cadre account")]
    if errors:
        raise ValidationFailed(errors=errors)
    check_references(enterprise_id=(CadreLink.enterprise_id, enterprise_id))
    existing = db.session.scalar(
        select(CadreLink.id).where(
            CadreLink.cadre_id == cadre_id, CadreLink.enterprise_id == enterprise_id, CadreLink.ended_at.is_(None)
        )
    )
    if existing is not None:
        raise Conflict("link_exists")
    link = CadreLink(
        cadre_id=cadre_id,
        enterprise_id=enterprise_id,
        role=role,
        started_on=started_on or utcnow().astimezone(SHANGHAI).date(),
    )
    db.session.add(link)
    db.session.commit()
    return link


def end_link(link_id: int) -> None:
    """End a pairing; it stays as history. Ending an ended link changes nothing."""
    link = db.session.get(CadreLink, link_id, with_for_update=True)
    if link is None:
        raise NotFound()
    if link.ended_at is None:
        link.ended_at = utcnow()
    db.session.commit()
