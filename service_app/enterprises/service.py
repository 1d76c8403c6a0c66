"""Enterprise look-up and key indicators: the scoped list, the profile, indicator history and
reports, and per-mu rankings. Every query starts from `enterprises.scoping`, so a caller never reads an
enterprise it may not see (404, as if it did not exist)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from service_app.auth.models import Role, User
from service_app.common.i18n import bilingual
from service_app.common.pagination import Page, keyset_page
from service_app.common.search import contains_text
from service_app.common.time import SHANGHAI, utcnow
from service_app.common.views import RowView
from service_app.enterprises import metrics, scoping
from service_app.enterprises.models import FULL_YEAR, EnterpriseChange, EnterpriseIndicator
from service_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.org import service as org_service
from service_app.org.models import CadreLink, Chain, Enterprise, Park
from service_app.problems.models import OPEN_STATUSES, RESOLVED_STATUSES, Problem
from service_app.visits.models import Visit

FIGURES = ("revenue", "tax_paid", "industrial_output", "land_area_mu", "employees", "rd_spend", "patents")
# Who may report an enterprise's figures: the enterprise itself (its own only, by scoping) and admins.
REPORTER_ROLES = frozenset({Role.ENTERPRISE.value, Role.ADMIN.value})
# What an enterprise may correct about itself; every other field is the admins'.
CONTACT_FIELDS = frozenset({"contact_name", "contact_phone", "address"})


def list_enterprises(
    actor: User,
    *,
    limit: int | None,
    cursor: str | None,
    q: str | None = None,
    park_id: int | None = None,
    chain_id: int | None = None,
    scale: str | None = None,
    linked_to_me: bool = False,
    updated_since: datetime | None = None,
) -> Page:
    """Enterprises `actor` may see, filtered, in id order (keyset pages)."""
    query = scoping.visible_enterprises(actor).options(joinedload(Enterprise.park), joinedload(Enterprise.chain))
    if q:
        query = query.where(contains_text(Enterprise.name, Enterprise.credit_code, text=q))
    for column, value in ((Enterprise.park_id, park_id), (Enterprise.chain_id, chain_id), (Enterprise.scale, scale)):
        if value is not None:
            query = query.where(column == value)
    if linked_to_me:
        query = query.where(Enterprise.id.in_(scoping.linked_enterprise_ids(actor.id)))
    if updated_since is not None:
        query = query.where(Enterprise.updated_at >= updated_since)
    return keyset_page(
        query, columns=[Enterprise.id], kinds=[int], limit=limit, cursor=cursor, descending=False, session=db.session
    )


@dataclass
class Profile(RowView, row="enterprise"):
    """An enterprise with what its profile page shows; reads as the enterprise for its own fields."""

    enterprise: Enterprise
    linked_cadres: list[dict[str, Any]]
    problems: dict[str, int]
    last_visit_at: datetime | None
    latest_indicators: dict[str, Any] | None


def get_profile(actor: User, enterprise_id: int) -> Profile:
    """Profile of a visible enterprise in three statements: the enterprise with its park, chain,
    problem counts and last visit; its linked cadres; its latest indicators with the year before."""
    counts = (
        select(
            Problem.enterprise_id,
            func.sum(case((Problem.status.in_(OPEN_STATUSES), 1), else_=0)).label("open"),
            func.sum(case((Problem.status.in_(RESOLVED_STATUSES), 1), else_=0)).label("resolved"),
            func.count().label("total"),
        )
        .where(Problem.enterprise_id == enterprise_id)
        .group_by(Problem.enterprise_id)
        .subquery()
    )
    last_visit = (
        select(func.max(Visit.recorded_at)).where(Visit.enterprise_id == Enterprise.id, Visit.counts).scalar_subquery()
    )
    row = db.session.execute(
        scoping.visible_enterprises(actor)
        .add_columns(counts.c.open, counts.c.resolved, counts.c.total, last_visit.label("last_visit_at"))
        .outerjoin(counts, counts.c.enterprise_id == Enterprise.id)
        .options(joinedload(Enterprise.park), joinedload(Enterprise.chain))
        .where(Enterprise.id == enterprise_id)
    ).one_or_none()
    if row is None:
        raise NotFound()
    enterprise, open_count, resolved_count, total, last_visit_at = row
    return Profile(
        enterprise=enterprise,
        linked_cadres=_linked_cadres(enterprise_id),
        problems={"open": open_count or 0, "resolved": resolved_count or 0, "total": total or 0},
        last_visit_at=last_visit_at,
        latest_indicators=_latest_indicators(enterprise_id),
    )


def _linked_cadres(enterprise_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(User.id, User.name, User.phone, CadreLink.role, CadreLink.started_on)
        .join(CadreLink, CadreLink.cadre_id == User.id)
        .where(CadreLink.enterprise_id == enterprise_id, CadreLink.ended_at.is_(None), User.is_active.is_(True))
        .order_by(case((CadreLink.role == "primary", 0), else_=1), CadreLink.started_on, User.id)
    ).all()
    return [{"id": r.id, "name": r.name, "phone": r.phone, "link_role": r.role, "since": r.started_on} for r in rows]


def _period_order(model) -> Any:
    """SQL sort key of a period: a full year after its fourth quarter."""
    return case((model.quarter == FULL_YEAR, 5), else_=model.quarter)


def _latest_indicators(enterprise_id: int) -> dict[str, Any] | None:
    current, previous = aliased(EnterpriseIndicator), aliased(EnterpriseIndicator)
    row = db.session.execute(
        select(current, previous)
        .outerjoin(
            previous,
            and_(
                previous.enterprise_id == current.enterprise_id,
                previous.year == current.year - 1,
                previous.quarter == current.quarter,
            ),
        )
        .where(current.enterprise_id == enterprise_id)
        .order_by(current.year.desc(), _period_order(current).desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else present(row[0], row[1])


def _figures(row: EnterpriseIndicator | None) -> dict[str, Any] | None:
    return None if row is None else {name: getattr(row, name) for name in FIGURES}


def present(row: EnterpriseIndicator, previous: EnterpriseIndicator | None) -> dict[str, Any]:
    """One period as the API shows it: figures, per-mu figures and growth over the year before."""
    figures = _figures(row)
    own, yoy = metrics.derived(figures, _figures(previous))
    return {
        "year": row.year,
        "quarter": metrics.quarter_or_none(row.quarter),
        "period_label": metrics.period_label(row.year, row.quarter),
        **figures,
        **own,
        "yoy": yoy,
        "source": row.source,
        "reported_by_id": row.reported_by_id,
        "reported_at": row.reported_at,
    }


def indicator_history(actor: User, enterprise_id: int) -> list[dict[str, Any]]:
    """Every reported period of a visible enterprise, latest first, with derived figures."""
    scoping.get_visible_enterprise(actor, enterprise_id)
    rows = db.session.scalars(
        select(EnterpriseIndicator).where(EnterpriseIndicator.enterprise_id == enterprise_id)
    ).all()
    by_period = {(r.year, r.quarter): r for r in rows}
    ordered = sorted(rows, key=lambda r: metrics.period_rank(r.year, r.quarter), reverse=True)
    return [present(r, by_period.get((r.year - 1, r.quarter))) for r in ordered]


def check_period_started(year: int, quarter: int | None, *, today: date | None = None) -> dict[str, list[str]]:
    """Errors for a period that has not begun yet (figures cannot be reported ahead of time)."""
    today = today or utcnow().astimezone(SHANGHAI).date()
    start = date(year, 1 if quarter is None else 3 * (quarter - 1) + 1, 1)
    if start <= today:
        return {}
    field = "quarter" if quarter is not None and year == today.year else "year"
    return {field: [bilingual("报告期尚未开始", "This period has not started yet")]}


def report_indicators(actor: User, enterprise_id: int, *, figures: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Record one period's figures (upsert by enterprise and period); True when the period is new.

    Fields left out keep their stored value. The reporter and the time are recorded each time.
    """
    if actor.role not in REPORTER_ROLES:
        raise Forbidden()
    scoping.get_visible_enterprise(actor, enterprise_id)
    year, quarter = figures["year"], figures.get("quarter")
    errors = check_period_started(year, quarter)
    if errors:
        raise ValidationFailed(errors=errors)
    key = (
        EnterpriseIndicator.enterprise_id == enterprise_id,
        EnterpriseIndicator.year == year,
        EnterpriseIndicator.quarter == metrics.stored_quarter(quarter),
    )
    row = db.session.scalar(select(EnterpriseIndicator).where(*key).with_for_update())
    created = row is None
    if created:
        row = EnterpriseIndicator(enterprise_id=enterprise_id, year=year, quarter=metrics.stored_quarter(quarter))
        db.session.add(row)
    for name in FIGURES:
        if name in figures:
            setattr(row, name, figures[name])
    row.source, row.reported_by_id, row.reported_at = "report", actor.id, utcnow()
    try:
        db.session.flush()
    except IntegrityError:
        # Another request created the same period between our read and our insert.
        db.session.rollback()
        raise Conflict(
            zh="该报告期的数据正被同时提交，请重试", en="This period was reported concurrently; retry"
        ) from None
    previous = db.session.scalar(
        select(EnterpriseIndicator).where(
            EnterpriseIndicator.enterprise_id == enterprise_id,
            EnterpriseIndicator.year == year - 1,
            EnterpriseIndicator.quarter == row.quarter,
        )
    )
    result = present(row, previous)
    db.session.commit()
    return result, created


def _ranking_query(
    actor: User, *, metric: str, year: int, quarter: int, park_id: int | None, chain_id: int | None
) -> Select:
    amount = EnterpriseIndicator.tax_paid if metric == "tax_per_mu" else EnterpriseIndicator.industrial_output
    # As floats: SQLite keeps whole NUMERIC values as integers and would divide them as integers.
    value = (cast(amount, Float) / cast(EnterpriseIndicator.land_area_mu, Float)).label("value")
    query = (
        scoping.visible_enterprises(actor)
        .with_only_columns(
            Enterprise.id,
            Enterprise.name,
            Enterprise.park_id,
            Park.name.label("park_name"),
            Enterprise.chain_id,
            Chain.name.label("chain_name"),
            amount.label("amount"),
            EnterpriseIndicator.land_area_mu,
            value,
        )
        .join(EnterpriseIndicator, EnterpriseIndicator.enterprise_id == Enterprise.id)
        .outerjoin(Park, Park.id == Enterprise.park_id)
        .outerjoin(Chain, Chain.id == Enterprise.chain_id)
        .where(
            EnterpriseIndicator.year == year,
            EnterpriseIndicator.quarter == quarter,
            EnterpriseIndicator.land_area_mu > 0,
            amount.is_not(None),
        )
    )
    for column, wanted in ((Enterprise.park_id, park_id), (Enterprise.chain_id, chain_id)):
        if wanted is not None:
            query = query.where(column == wanted)
    return query.order_by(value.desc(), Enterprise.id.asc())


def rankings(
    actor: User,
    *,
    metric: str,
    year: int | None = None,
    quarter: int | None = None,
    park_id: int | None = None,
    chain_id: int | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Enterprises by tax or output per mu for one period, highest first; ties by enterprise id.

    Enterprises without a positive land area (or without the figure) are left out. Without `year`,
    the latest year that has figures for the period kind asked for.
    """
    stored = metrics.stored_quarter(quarter)
    if year is None:
        year = db.session.scalar(
            select(func.max(EnterpriseIndicator.year)).where(EnterpriseIndicator.quarter == stored)
        )
    result: dict[str, Any] = {"metric": metric, "year": year, "quarter": quarter, "period_label": None, "items": []}
    if year is None:
        return result
    result["period_label"] = metrics.period_label(year, stored)
    rows = db.session.execute(
        _ranking_query(actor, metric=metric, year=year, quarter=stored, park_id=park_id, chain_id=chain_id).limit(limit)
    ).all()
    rank, last_value = 0, None
    for position, row in enumerate(rows, start=1):
        if row.value != last_value:
            rank, last_value = position, row.value
        result["items"].append(
            {
                "rank": rank,
                "enterprise_id": row.id,
                "name": row.name,
                "park_id": row.park_id,
                "park_name": row.park_name,
                "chain_id": row.chain_id,
                "chain_name": row.chain_name,
                "value": metrics.per_mu(row.amount, row.land_area_mu),
                "amount": row.amount,
                "land_area_mu": row.land_area_mu,
            }
        )
    return result


def update_enterprise(actor: User, enterprise_id: int, *, changes: dict[str, Any]) -> Enterprise:
    """An admin changes any field (org's rules); an enterprise user only its own contact fields
    (`CONTACT_FIELDS`; another field is a 422 naming it). Either way the change enters the history."""
    if actor.role == Role.ADMIN.value:
        return org_service.update_enterprise(enterprise_id=enterprise_id, **changes)
    if actor.role != Role.ENTERPRISE.value:
        raise Forbidden()
    scoping.get_visible_enterprise(actor, enterprise_id)
    refused = sorted(set(changes) - CONTACT_FIELDS)
    if refused:
        message = bilingual(
            "企业只能修改联系人、联系电话和地址", "An enterprise may change only its contact name, phone and address"
        )
        raise ValidationFailed(errors={field: [message] for field in refused})
    enterprise = db.session.get(Enterprise, enterprise_id, with_for_update=True)
    for field, value in changes.items():
        setattr(enterprise, field, value)
    db.session.commit()
    return enterprise


def enterprise_history(actor: User, enterprise_id: int, *, limit: int | None, cursor: str | None) -> Page:
    """Changes of a visible enterprise, newest first, each with its author."""
    scoping.get_visible_enterprise(actor, enterprise_id)
    query = (
        select(EnterpriseChange)
        .options(joinedload(EnterpriseChange.changed_by))
        .where(EnterpriseChange.enterprise_id == enterprise_id)
    )
    return keyset_page(
        query, columns=[EnterpriseChange.id], kinds=[int], limit=limit, cursor=cursor, session=db.session
    )
