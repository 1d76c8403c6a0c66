"""Visit rules in the service layer: offline window, flags, one open visit, client_id, check-out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service_app.attachments.models import Attachment
from service_app.errors import Conflict, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.problems.models import Problem
from service_app.visits import service
from service_app.visits.models import Visit
from tests.factories import CadreFactory, CategoryFactory, EnterpriseFactory, EnterpriseUserFactory, UserFactory
from tests.factories_visits import Pair, VisitFactory, offset, pair

NOW = datetime(2019, 6, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def link(app_ctx):
    return pair()


def _check_in(link: Pair, *, at_m: float = 0.0, now: datetime = NOW, **kwargs):
    lat, lng = offset(link.enterprise.lat, link.enterprise.lng, north_m=at_m)
    kwargs.setdefault("accuracy_m", 10.0)
    detail, _created = service.check_in(
        cadre=link.cadre, enterprise_id=link.enterprise_id, lat=lat, lng=lng, now=now, **kwargs
    )
    return detail


def _visit(visit_id: int) -> Visit:
    db.session.expire_all()
    return db.session.get(Visit, visit_id)


def test_check_in_at_the_site_measures_and_records(link):
    detail = _check_in(link, at_m=120, note="例行走访")
    assert (detail.enterprise.name, detail.cadre.name) == (link.enterprise.name, link.cadre.name)
    visit = _visit(detail.id)
    assert visit.distance_m == pytest.approx(120, abs=0.5)
    assert visit.within_geofence and visit.flags == [] and not visit.flagged
    assert visit.recorded_at == NOW and visit.received_at == NOW and visit.checked_out_at is None


def test_flags_are_recorded_not_refused(link, app):
    far = _check_in(link, at_m=10_000)
    assert far.flags == ["far_from_site"] and far.flagged and not far.within_geofence
    poor = _check_in(link, accuracy_m=150, now=NOW + timedelta(hours=1))
    assert poor.flags == ["poor_accuracy"]
    mocked = _check_in(link, mock_location=True, now=NOW + timedelta(hours=2))
    assert mocked.flags == ["mock_location"] and _visit(mocked.id).mock_location


def test_thresholds_come_from_settings(link, app, monkeypatch):
    monkeypatch.setitem(app.config, "VISIT_POOR_ACCURACY_M", 20)
    monkeypatch.setitem(app.config, "GEOFENCE_RADIUS_M", 100)
    detail = _check_in(link, at_m=150, accuracy_m=30)
    assert detail.flags == ["far_from_site", "poor_accuracy"]


def test_impossible_speed_against_the_previous_check_in_by_recorded_time(app_ctx):
    cadre = CadreFactory()
    here, there = (
        pair(cadre=cadre),
        pair(cadre=cadre, enterprise=EnterpriseFactory(lat=28.2282, lng=112.9388)),
    )  # Changsha, ~45 km
    _check_in(there, now=NOW - timedelta(minutes=20))
    assert _check_in(here).flags == ["impossible_speed"]
    # Two hours after the Changsha check-in is a plausible drive.
    assert _check_in(there, now=NOW + timedelta(hours=2)).flags == []
    # A check-in sent late (offline) is compared with the one recorded just before it, not the last received.
    late = _check_in(here, recorded_at=NOW + timedelta(minutes=30), now=NOW + timedelta(hours=3))
    assert late.flags == []


def test_speed_threshold_comes_from_settings(app_ctx, app, monkeypatch):
    cadre = CadreFactory()
    here, there = pair(cadre=cadre), pair(cadre=cadre, enterprise=EnterpriseFactory(lat=28.2282, lng=112.9388))
    _check_in(there, now=NOW - timedelta(hours=1))
    monkeypatch.setitem(app.config, "VISIT_MAX_SPEED_KMH", 30)
    assert _check_in(here).flags == ["impossible_speed"]


def test_offline_window_edges(link, app, monkeypatch):
    accepted = _check_in(link, recorded_at=NOW - timedelta(hours=72) + timedelta(seconds=1))
    assert accepted.recorded_at == NOW - timedelta(hours=72) + timedelta(seconds=1)
    with pytest.raises(ValidationFailed) as too_old:
        _check_in(link, recorded_at=NOW - timedelta(hours=72, seconds=1))
    assert list(too_old.value.errors) == ["recorded_at"]
    assert _check_in(link, recorded_at=NOW + timedelta(seconds=300)).recorded_at == NOW + timedelta(seconds=300)
    with pytest.raises(ValidationFailed) as future:
        _check_in(link, recorded_at=NOW + timedelta(seconds=301))
    assert list(future.value.errors) == ["recorded_at"]
    monkeypatch.setitem(app.config, "VISIT_OFFLINE_MAX_HOURS", 24)
    monkeypatch.setitem(app.config, "VISIT_CLOCK_SKEW_SECONDS", 0)
    for recorded_at in (NOW - timedelta(hours=25), NOW + timedelta(seconds=1)):
        with pytest.raises(ValidationFailed):
            _check_in(link, recorded_at=recorded_at)


def test_only_linked_enterprises(app_ctx):
    cadre = CadreFactory()
    stranger = EnterpriseFactory()
    with pytest.raises(NotFound):
        service.check_in(cadre=cadre, enterprise_id=stranger.id, lat=27.84, lng=113.08, accuracy_m=5, now=NOW)
    ended = pair(cadre=cadre, ended_at=NOW - timedelta(days=1))
    with pytest.raises(NotFound):
        _check_in(ended)
    assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.cadre_id == cadre.id)) == 0


def test_client_id_returns_the_same_visit_days_later(link):
    first, created = service.check_in(
        cadre=link.cadre,
        enterprise_id=link.enterprise_id,
        lat=27.841,
        lng=113.079,
        accuracy_m=8,
        client_id="c-1",
        recorded_at=NOW - timedelta(hours=70),
        now=NOW,
    )
    assert created
    # Four days later the capture time is far outside the offline window: still the same visit.
    again, created = service.check_in(
        cadre=link.cadre,
        enterprise_id=link.enterprise_id,
        lat=27.841,
        lng=113.079,
        accuracy_m=8,
        client_id="c-1",
        recorded_at=NOW - timedelta(hours=70),
        now=NOW + timedelta(days=4),
    )
    assert not created and again.id == first.id
    with pytest.raises(ValidationFailed) as misuse:
        service.check_in(
            cadre=link.cadre,
            enterprise_id=EnterpriseFactory().id,
            lat=27.8,
            lng=113.0,
            accuracy_m=8,
            client_id="c-1",
            now=NOW,
        )
    assert list(misuse.value.errors) == ["client_id"]
    # client_id is per cadre: another cadre may use the same string.
    other = pair()
    assert service.check_in(
        cadre=other.cadre,
        enterprise_id=other.enterprise_id,
        lat=27.8,
        lng=113.0,
        accuracy_m=8,
        client_id="c-1",
        now=NOW,
    )[1]


def test_client_id_race_is_settled_by_the_unique_constraint(link, monkeypatch):
    """Two requests with one client_id: the loser's insert inserts nothing and it answers with the
    winner's visit."""
    winner = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, client_id="race-1", recorded_at=NOW)
    real_around = service._around
    # The loser looked before the winner committed.
    monkeypatch.setattr(service, "_around", lambda *args: dataclasses.replace(real_around(*args), existing=None))
    detail, created = service.check_in(
        cadre=link.cadre,
        enterprise_id=link.enterprise_id,
        lat=27.841,
        lng=113.079,
        accuracy_m=8,
        client_id="race-1",
        now=NOW,
    )
    assert not created and detail.id == winner.id
    assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.cadre_id == link.cadre_id)) == 1


def test_checking_in_elsewhere_closes_the_open_visit(app_ctx):
    cadre = CadreFactory()
    a, b = pair(cadre=cadre), pair(cadre=cadre)
    first = _check_in(a, now=NOW)
    second = _check_in(b, now=NOW + timedelta(minutes=45))
    closed = _visit(first.id)
    assert closed.auto_closed and closed.checked_out_at == NOW + timedelta(minutes=45) and closed.duration_s == 45 * 60
    assert _visit(second.id).checked_out_at is None
    open_visits = db.session.scalars(
        select(Visit.id).where(Visit.cadre_id == cadre.id, Visit.checked_out_at.is_(None))
    ).all()
    assert open_visits == [second.id]


def test_automatic_close_never_exceeds_the_limit(link):
    forgotten = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, recorded_at=NOW - timedelta(hours=20))
    _check_in(link)
    closed = _visit(forgotten.id)
    assert closed.checked_out_at == NOW - timedelta(hours=12) and closed.duration_s == 8 * 3600 and closed.auto_closed


def test_late_offline_check_ins_arrive_already_closed(app_ctx):
    cadre = CadreFactory()
    a, b = pair(cadre=cadre), pair(cadre=cadre)
    current = _check_in(b, now=NOW)
    # Captured at A an hour earlier, synced now: the cadre has moved on to B since.
    late = _visit(_check_in(a, recorded_at=NOW - timedelta(hours=1), now=NOW + timedelta(minutes=1)).id)
    assert late.auto_closed and late.checked_out_at == NOW and late.duration_s == 3600
    assert _visit(current.id).checked_out_at is None
    # Captured ten hours ago with nothing after it: over by the eight-hour limit.
    lone = pair()
    old = _visit(_check_in(lone, recorded_at=NOW - timedelta(hours=10)).id)
    assert old.auto_closed and old.checked_out_at == NOW - timedelta(hours=2)


def test_photos_are_claimed_for_the_visit(link):
    def upload(owner_id):
        attachment = Attachment(
            owner_id=owner_id,
            storage="local",
            storage_key=f"test/{owner_id}/{datetime.now().timestamp()}",
            filename="p.jpg",
            content_type="image/jpeg",
            size=3,
            sha256="0" * 64,
        )
        db.session.add(attachment)
        db.session.flush()
        return attachment

    mine, foreign = upload(link.cadre_id), upload(UserFactory().id)
    with pytest.raises(ValidationFailed) as error:
        _check_in(link, photo_ids=[mine.id, foreign.id])
    assert list(error.value.errors) == ["photo_ids"]
    detail = _check_in(link, photo_ids=[mine.id])
    assert detail.photo_ids == [mine.id]


def test_check_out_computes_the_duration(link):
    visit = _check_in(link)
    lat, lng = offset(link.enterprise.lat, link.enterprise.lng, east_m=30)
    done = service.check_out(
        cadre=link.cadre,
        visit_id=visit.id,
        lat=lat,
        lng=lng,
        summary="了解用工需求",
        recorded_at=NOW + timedelta(minutes=50),
        now=NOW + timedelta(hours=2),
    )
    assert done.duration_s == 50 * 60 and done.checked_out_at == NOW + timedelta(minutes=50)
    assert (
        done.summary == "了解用工需求"
        and not done.auto_closed
        and (done.check_out_lat, done.check_out_lng) == (lat, lng)
    )


def test_check_out_rules(link):
    visit = _check_in(link)
    with pytest.raises(NotFound):
        service.check_out(cadre=CadreFactory(), visit_id=visit.id, lat=27.8, lng=113.0, summary="x", now=NOW)
    with pytest.raises(ValidationFailed) as negative:
        service.check_out(
            cadre=link.cadre,
            visit_id=visit.id,
            lat=27.8,
            lng=113.0,
            summary="x",
            recorded_at=NOW - timedelta(seconds=1),
            now=NOW,
        )
    assert list(negative.value.errors) == ["recorded_at"]
    service.check_out(
        cadre=link.cadre, visit_id=visit.id, lat=27.8, lng=113.0, summary="x", now=NOW + timedelta(minutes=5)
    )
    with pytest.raises(Conflict) as twice:
        service.check_out(
            cadre=link.cadre, visit_id=visit.id, lat=27.8, lng=113.0, summary="y", now=NOW + timedelta(minutes=6)
        )
    assert twice.value.http_status == 409 and twice.value.extra["visit"]["summary"] == "x"


def test_server_time_check_out_is_never_negative(link):
    # The phone's clock ran two minutes fast at check-in; the check-out carries no time of its own.
    visit = _check_in(link, recorded_at=NOW + timedelta(minutes=2))
    done = service.check_out(
        cadre=link.cadre, visit_id=visit.id, lat=27.8, lng=113.0, summary="x", now=NOW + timedelta(minutes=1)
    )
    assert done.duration_s == 0


def test_a_late_check_out_corrects_an_automatic_close(app_ctx):
    cadre = CadreFactory()
    a, b = pair(cadre=cadre), pair(cadre=cadre)
    first = _check_in(a)
    _check_in(b, now=NOW + timedelta(hours=1))
    # The check-out from A, captured offline before the check-in at B, arrives afterwards.
    corrected = service.check_out(
        cadre=cadre,
        visit_id=first.id,
        lat=27.8,
        lng=113.0,
        summary="走访完成",
        recorded_at=NOW + timedelta(minutes=40),
        now=NOW + timedelta(hours=1, minutes=5),
    )
    assert corrected.duration_s == 40 * 60 and not corrected.auto_closed
    # One recorded after the automatic close cannot rewrite history.
    other = _check_in(a, now=NOW + timedelta(hours=2))
    _check_in(b, now=NOW + timedelta(hours=3))
    with pytest.raises(Conflict):
        service.check_out(
            cadre=cadre, visit_id=other.id, lat=27.8, lng=113.0, summary="x", now=NOW + timedelta(hours=3, minutes=1)
        )


def test_detail_lists_problems_raised_during_the_visit(link):
    visit = _check_in(link)
    filer = EnterpriseUserFactory(enterprise=link.enterprise)
    category = CategoryFactory()
    problems = [
        Problem(
            code=f"T{visit.id}-{n}",
            enterprise_id=link.enterprise_id,
            category_id=category.id,
            title="厂区道路破损",
            description="需要维修",
            filed_by_id=filer.id,
            response_due_at=NOW,
            due_at=NOW,
            visit_id=visit.id if n < 2 else None,
        )
        for n in range(3)
    ]
    db.session.add_all(problems)
    db.session.flush()
    detail = service.get_visit(actor=link.cadre, visit_id=visit.id)
    assert detail.problem_ids == sorted(p.id for p in problems[:2])
    with pytest.raises(NotFound):
        service.get_visit(actor=CadreFactory(), visit_id=visit.id)
