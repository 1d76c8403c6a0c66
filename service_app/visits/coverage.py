"""Visit coverage: linked enterprises visited in the last N days / linked enterprises.

One SQL aggregation each (no per-row Python), reused by the statistics domain. A link counts
when it was active at `as_of`; a visit counts when its linked cadre made it within the window
and it is unflagged or a manager confirmed it (`Visit.counts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, distinct, exists, func, or_, select

from service_app.common.time import SHANGHAI
from service_app.extensions import db
from service_app.org.models import CadreLink
from service_app.visits.models import Visit

WINDOW_DAYS = 30


@dataclass(frozen=True)
class Coverage:
    linked: int
    visited: int

    @property
    def rate(self) -> float | None:
        return round(self.visited / self.linked, 4) if self.linked else None


def _active_at(as_of: datetime):
    return and_(
        CadreLink.started_on <= as_of.astimezone(SHANGHAI).date(),
        or_(CadreLink.ended_at.is_(None), CadreLink.ended_at > as_of),
    )


def _visited(as_of: datetime, days: int):
    return exists().where(
        Visit.cadre_id == CadreLink.cadre_id,
        Visit.enterprise_id == CadreLink.enterprise_id,
        Visit.recorded_at > as_of - timedelta(days=days),
        Visit.recorded_at <= as_of,
        Visit.counts,
    )


def _scoped(query: Select, enterprise_ids: Select | None, cadre_id: int | None) -> Select:
    if enterprise_ids is not None:
        query = query.where(CadreLink.enterprise_id.in_(enterprise_ids))
    if cadre_id is not None:
        query = query.where(CadreLink.cadre_id == cadre_id)
    return query


def overall(
    *, as_of: datetime, days: int = WINDOW_DAYS, enterprise_ids: Select | None = None, cadre_id: int | None = None
) -> Coverage:
    """Distinct linked enterprises, and those a linked cadre visited within `days` before `as_of`."""
    visited = _visited(as_of, days)
    query = _scoped(
        select(
            func.count(distinct(CadreLink.enterprise_id)),
            func.count(distinct(case((visited, CadreLink.enterprise_id)))),
        ).where(_active_at(as_of)),
        enterprise_ids,
        cadre_id,
    )
    linked, visited_count = db.session.execute(query).one()
    return Coverage(linked=linked or 0, visited=visited_count or 0)


def by_cadre(*, as_of: datetime, days: int = WINDOW_DAYS, enterprise_ids: Select | None = None) -> dict[int, Coverage]:
    """Coverage per cadre: its linked enterprises, and those it visited."""
    visited = _visited(as_of, days)
    query = _scoped(
        select(
            CadreLink.cadre_id,
            func.count(distinct(CadreLink.enterprise_id)),
            func.count(distinct(case((visited, CadreLink.enterprise_id)))),
        )
        .where(_active_at(as_of))
        .group_by(CadreLink.cadre_id),
        enterprise_ids,
        None,
    )
    return {cadre_id: Coverage(linked=linked, visited=count) for cadre_id, linked, count in db.session.execute(query)}


def unvisited_links(*, as_of: datetime, days: int = WINDOW_DAYS) -> Select:
    """(cadre_id, enterprise_id) of active links with no visit in the window (for reminders)."""
    return select(CadreLink.cadre_id, CadreLink.enterprise_id).where(_active_at(as_of), ~_visited(as_of, days))
