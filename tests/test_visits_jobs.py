"""Scheduled visit jobs: their effect, and that running them twice changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from service_app.extensions import db
from service_app.notifications.messages import render
from service_app.notifications.models import Notification
from service_app.visits import jobs
from service_app.visits.models import Visit
from tests.factories import CadreFactory
from tests.factories_visits import VisitFactory, pair

NOW = datetime(2019, 6, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _reload(visit_id: int) -> Visit:
    db.session.expire_all()
    return db.session.get(Visit, visit_id)


def test_close_stale_visits_at_check_in_plus_the_limit(app_ctx):
    link = pair()
    stale = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, recorded_at=NOW - timedelta(hours=30))
    at_limit = VisitFactory(recorded_at=NOW - timedelta(hours=8))
    fresh = VisitFactory(recorded_at=NOW - timedelta(hours=7, minutes=59))
    done = VisitFactory(
        recorded_at=NOW - timedelta(hours=30),
        checked_out_at=NOW - timedelta(hours=29),
        duration_s=3600,
        summary="已签退",
    )
    assert jobs.close_stale_visits(now=NOW) == 2
    closed = _reload(stale.id)
    assert closed.auto_closed and closed.checked_out_at == NOW - timedelta(hours=22) and closed.duration_s == 8 * 3600
    assert closed.summary is None and closed.check_out_lat is None
    assert _reload(at_limit.id).checked_out_at == NOW
    assert _reload(fresh.id).checked_out_at is None
    assert _reload(done.id).checked_out_at == NOW - timedelta(hours=29) and not _reload(done.id).auto_closed
    assert jobs.close_stale_visits(now=NOW) == 0
    # Run late: the result is the same, not stretched to the time of the run.
    assert jobs.close_stale_visits(now=NOW + timedelta(days=2)) == 1
    assert _reload(fresh.id).checked_out_at == NOW + timedelta(minutes=1)


def test_close_stale_visits_honours_the_setting(app_ctx, app, monkeypatch):
    visit = VisitFactory(recorded_at=NOW - timedelta(hours=3))
    monkeypatch.setitem(app.config, "VISIT_AUTO_CLOSE_HOURS", 2)
    assert jobs.close_stale_visits(now=NOW) == 1
    assert _reload(visit.id).duration_s == 2 * 3600


def _reminders(user_ids) -> list[Notification]:
    return db.session.scalars(
        select(Notification)
        .where(Notification.kind == "visit_reminder", Notification.user_id.in_(list(user_ids)))
        .order_by(Notification.id)
    ).all()


def test_remind_unvisited_tells_only_links_that_lapsed_since_the_previous_run(app_ctx):
    previous = NOW - timedelta(days=1)
    idle = pair()  # never visited: already overdue at the first run, which tells nobody
    busy = CadreFactory()
    lapsed = [pair(cadre=busy), pair(cadre=busy)]
    for link in lapsed:  # visited 30½ days before NOW: inside the window at the previous run, not now
        VisitFactory(cadre=busy, enterprise=link.enterprise, recorded_at=NOW - timedelta(days=30, hours=12))
    diligent = pair()
    VisitFactory(cadre=diligent.cadre, enterprise=diligent.enterprise, recorded_at=NOW - timedelta(days=5))
    newly_due = pair(started_on=date(2019, 5, 31))  # 30 days old on NOW's Shanghai date, not the day before
    disabled = pair(cadre=CadreFactory(is_active=False))
    VisitFactory(cadre=disabled.cadre, enterprise=disabled.enterprise, recorded_at=NOW - timedelta(days=30, hours=12))
    everyone = [idle.cadre_id, busy.id, diligent.cadre_id, newly_due.cadre_id, disabled.cadre_id]

    assert jobs.remind_unvisited(now=previous) == 0
    assert _reminders(everyone) == []

    assert jobs.remind_unvisited(now=NOW) == 2
    notices = _reminders(everyone)
    assert sorted(n.user_id for n in notices) == sorted([busy.id, newly_due.cadre_id])
    busy_notice = next(n for n in notices if n.user_id == busy.id)
    enterprise_ids = sorted(p.enterprise_id for p in lapsed)
    assert busy_notice.params == {"count": 2, "days": 30, "enterprise_ids": enterprise_ids}
    assert render(busy_notice.kind, busy_notice.params, lang="zh") == (
        "走访提醒", "您有 2 家结对企业超过 30 天未走访，请安排走访。"
    )
    assert render(busy_notice.kind, busy_notice.params, lang="en")[1].startswith("2 of your linked enterprises")

    # An hour later nothing has changed: nobody is told again.
    assert jobs.remind_unvisited(now=NOW + timedelta(hours=1)) == 0
    assert len(_reminders(everyone)) == 2
