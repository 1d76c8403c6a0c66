"""Scheduled visit jobs: plain functions of `now`, each one transaction, each safe to run twice."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Select, select, tuple_

from service_app.auth.models import Role, User
from service_app.common.time import SHANGHAI
from service_app.extensions import db
from service_app.notifications.service import advance_watermark, notify
from service_app.org.models import CadreLink
from service_app.visits import coverage
from service_app.visits.models import Visit
from service_app.visits.service import auto_close, auto_close_limit

REMINDER = "visit_reminder"


def close_stale_visits(*, now: datetime) -> int:
    """Close visits open for VISIT_AUTO_CLOSE_HOURS or more; returns how many.

    They are closed at check-in time plus the limit, not at `now`: the job may run late or after
    an outage, and a duration that depended on when it ran would inflate the visit-time figures.
    The limit is the longest plausible visit, and the result is the same whenever the job runs.
    """
    limit = auto_close_limit()
    stale = db.session.scalars(
        select(Visit)
        .where(Visit.checked_out_at.is_(None), Visit.recorded_at <= now - limit)
        .order_by(Visit.id)
        # A visit the cadre is checking out right now is left to that check-out.
        .with_for_update(skip_locked=True)
    ).all()
    for visit in stale:
        auto_close(visit, at=visit.recorded_at + limit, limit=limit)
    db.session.commit()
    return len(stale)


def remind_unvisited(*, now: datetime, days: int = coverage.WINDOW_DAYS) -> int:
    """Remind each active cadre of the linked enterprises that went `days` without a visit since the
    job's previous run; returns how many cadres were reminded.

    Only what changed is told: a link already unvisited at the previous run was told then (or
    predates the first run, which records the time and reminds nobody). A link younger than `days`
    is not overdue for a visit yet.
    """
    previous = advance_watermark("visits.remind_unvisited", now=now)
    if previous is None:
        db.session.commit()
        return 0
    links = (
        _overdue_links(now, days)
        .where(
            tuple_(CadreLink.cadre_id, CadreLink.enterprise_id).not_in(_overdue_links(previous, days).correlate(None))
        )
        .join(User, User.id == CadreLink.cadre_id)
        .where(User.is_active.is_(True), User.role == Role.CADRE.value)
        .distinct()
        .order_by(CadreLink.cadre_id, CadreLink.enterprise_id)
    )
    unvisited: dict[int, list[int]] = defaultdict(list)
    for cadre_id, enterprise_id in db.session.execute(links):
        unvisited[cadre_id].append(enterprise_id)
    for cadre_id, enterprise_ids in unvisited.items():
        params = {"count": len(enterprise_ids), "days": days, "enterprise_ids": enterprise_ids}
        notify([cadre_id], kind=REMINDER, params=params, now=now)  # the job's clock, like the watermark
    db.session.commit()
    return len(unvisited)


def _overdue_links(as_of: datetime, days: int) -> Select:
    """(cadre_id, enterprise_id) of links at least `days` old with no visit in the `days` before `as_of`."""
    return coverage.unvisited_links(as_of=as_of, days=days).where(
        CadreLink.started_on <= (as_of - timedelta(days=days)).astimezone(SHANGHAI).date()
    )
