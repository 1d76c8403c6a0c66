"""Scheduled visit jobs: plain functions of `now`, each one transaction, each safe to run twice."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from service_app.auth.models import Role, User
from service_app.common.time import SHANGHAI
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.notifications.service import notify
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
    """Remind each active cadre with linked enterprises not visited for `days`; returns how many.

    At most one reminder per cadre per calendar day in Asia/Shanghai: a cadre reminded today is
    skipped. A link younger than `days` is not overdue for a visit yet.
    """
    day_start, day_end = _shanghai_day(now)
    reminded_today = select(Notification.user_id).where(
        Notification.kind == REMINDER, Notification.created_at >= day_start, Notification.created_at < day_end
    )
    links = (
        coverage.unvisited_links(as_of=now, days=days)
        .join(User, User.id == CadreLink.cadre_id)
        .where(
            CadreLink.started_on <= (now - timedelta(days=days)).astimezone(SHANGHAI).date(),
            User.is_active.is_(True),
            User.role == Role.CADRE.value,
            CadreLink.cadre_id.not_in(reminded_today),
        )
        .distinct()
        .order_by(CadreLink.cadre_id, CadreLink.enterprise_id)
    )
    unvisited: dict[int, list[int]] = defaultdict(list)
    for cadre_id, enterprise_id in db.session.execute(links):
        unvisited[cadre_id].append(enterprise_id)
    for cadre_id, enterprise_ids in unvisited.items():
        for notice in notify(
            [cadre_id],
            kind=REMINDER,
            title="走访提醒",
            body=f"您有 {len(enterprise_ids)} 家结对企业超过 {days} 天未走访，请安排走访。",
            data={"enterprise_ids": enterprise_ids, "days": days},
        ):
            # Stamped with the job's clock, so "reminded today" is judged on the same clock.
            notice.created_at = now
    db.session.commit()
    return len(unvisited)


def _shanghai_day(now: datetime) -> tuple[datetime, datetime]:
    """The Asia/Shanghai calendar day containing `now`, as a UTC [start, end) range."""
    start = datetime.combine(now.astimezone(SHANGHAI).date(), time.min, tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
