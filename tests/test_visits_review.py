"""Visit review: a manager confirms or dismisses a flagged check-in; only unflagged or confirmed
check-ins count as visits (coverage, last_visit_at, reminders, /visits/coverage)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from service_app.errors import Conflict, NotFound
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.visits import coverage, jobs, service
from service_app.visits.models import Visit
from tests.factories import CadreFactory, UserFactory
from tests.factories_visits import VisitFactory, pair
from tests.helpers import assert_error, auth_headers

NOW = datetime(2019, 6, 30, 4, 0, tzinfo=UTC)


def _flagged(link, *, days_ago: float = 2, **kwargs) -> Visit:
    return VisitFactory(
        cadre=link.cadre, enterprise=link.enterprise, recorded_at=NOW - timedelta(days=days_ago),
        flags=["far_from_site"], flagged=True, within_geofence=False, distance_m=6000.0, **kwargs,
    )


def _coverage(link) -> tuple[int, int]:
    figures = coverage.overall(as_of=NOW, cadre_id=link.cadre_id)
    return figures.linked, figures.visited


def _reminded(cadre_id: int) -> bool:
    query = select(Notification.id).where(Notification.kind == jobs.REMINDER, Notification.user_id == cadre_id)
    return db.session.scalar(query) is not None


@pytest.fixture
def manager(app_ctx):
    return UserFactory()


def test_confirm_makes_a_flagged_check_in_count(manager):
    link = pair()
    visit = _flagged(link)
    assert _coverage(link) == (1, 0) and not visit.counts
    detail = service.review_visit(actor=manager, visit_id=visit.id, decision="confirm", note="现场照片可证", now=NOW)
    review = (detail.review, detail.reviewed_by_id, detail.review_note, detail.reviewed_at)
    assert review == ("confirmed", manager.id, "现场照片可证", NOW)
    assert detail.counts and _coverage(link) == (1, 1)


def test_dismiss_keeps_it_out_and_note_is_optional(manager):
    link = pair()
    visit = _flagged(link)
    detail = service.review_visit(actor=manager, visit_id=visit.id, decision="dismiss", now=NOW)
    assert (detail.review, detail.review_note, detail.counts) == ("dismissed", None, False)
    assert _coverage(link) == (1, 0)


def test_second_review_and_unflagged_visit_are_conflicts(manager):
    link = pair()
    visit = _flagged(link)
    service.review_visit(actor=manager, visit_id=visit.id, decision="dismiss", now=NOW)
    with pytest.raises(Conflict) as second:
        service.review_visit(actor=manager, visit_id=visit.id, decision="confirm", now=NOW)
    assert second.value.message_key == "visit_already_reviewed"
    assert db.session.get(Visit, visit.id).review == "dismissed"
    plain = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, recorded_at=NOW - timedelta(days=1))
    with pytest.raises(Conflict) as unflagged:
        service.review_visit(actor=manager, visit_id=plain.id, decision="confirm", now=NOW)
    assert unflagged.value.message_key == "visit_not_flagged"
    with pytest.raises(NotFound):
        service.review_visit(actor=manager, visit_id=plain.id + 1000, decision="confirm", now=NOW)


def test_reminders_count_only_unflagged_or_confirmed_check_ins(manager):
    pending, confirmed, dismissed, plain = (pair(started_on=date(2019, 1, 1)) for _ in range(4))
    _flagged(pending)
    service.review_visit(actor=manager, visit_id=_flagged(confirmed).id, decision="confirm", now=NOW)
    service.review_visit(actor=manager, visit_id=_flagged(dismissed).id, decision="dismiss", now=NOW)
    VisitFactory(cadre=plain.cadre, enterprise=plain.enterprise, recorded_at=NOW - timedelta(days=3))
    jobs.remind_unvisited(now=datetime(2019, 1, 15, tzinfo=UTC))  # the previous run: the links were new
    jobs.remind_unvisited(now=NOW)
    assert [_reminded(link.cadre_id) for link in (pending, confirmed, dismissed, plain)] == [True, False, True, False]


def test_last_visit_at_skips_flagged_check_ins_until_confirmed(client, manager):
    link = pair()
    counted = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, recorded_at=NOW - timedelta(days=10))
    later = _flagged(link, days_ago=1)
    headers = auth_headers(client, manager)
    url = f"/api/v1/enterprises/{link.enterprise_id}"
    assert client.get(url, headers=headers).get_json()["last_visit_at"] == counted.recorded_at.isoformat()
    response = client.post(f"/api/v1/visits/{later.id}/review", json={"decision": "confirm"}, headers=headers)
    assert response.status_code == 200
    assert client.get(url, headers=headers).get_json()["last_visit_at"] == later.recorded_at.isoformat()


def test_review_route_codes_and_queue(client, manager):
    link = pair()
    waiting, other = _flagged(link, days_ago=3), _flagged(link, days_ago=2)
    plain = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, recorded_at=NOW - timedelta(days=1))
    headers = auth_headers(client, manager)
    queue = client.get("/api/v1/visits?review=pending&limit=100", headers=headers).get_json()["items"]
    assert {v["id"] for v in queue} >= {waiting.id, other.id} and plain.id not in {v["id"] for v in queue}

    url = f"/api/v1/visits/{other.id}/review"
    assert_error(client.post(url, json={"decision": "maybe"}, headers=headers), 422)
    assert_error(client.post(url, json={"decision": "dismiss", "extra": 1}, headers=headers), 422)
    assert_error(client.post(url, json={"decision": "dismiss"}, headers=auth_headers(client, link.cadre)), 403)
    body = client.post(url, json={"decision": "dismiss", "note": "定位在外地"}, headers=headers).get_json()
    review = (body["review"], body["review_label"], body["review_note"], body["counts"])
    assert review == ("dismissed", "已驳回", "定位在外地", False)
    confirm = {"decision": "confirm"}
    assert_error(client.post(url, json=confirm, headers=headers), 409, "visit_already_reviewed")
    unflagged = client.post(f"/api/v1/visits/{plain.id}/review", json=confirm, headers=headers)
    assert_error(unflagged, 409, "visit_not_flagged")
    assert_error(client.post(f"/api/v1/visits/{plain.id + 1000}/review", json=confirm, headers=headers), 404)

    queue = client.get("/api/v1/visits?review=pending&limit=100", headers=headers).get_json()["items"]
    assert other.id not in {v["id"] for v in queue} and waiting.id in {v["id"] for v in queue}
    dismissed = client.get("/api/v1/visits?review=dismissed&limit=100", headers=headers).get_json()["items"]
    assert [v["id"] for v in dismissed if v["cadre_id"] == link.cadre_id] == [other.id]
    assert_error(client.get("/api/v1/visits?review=later", headers=headers), 422)


def test_coverage_endpoint_counts_confirmed_check_ins_only(client, manager):
    link = pair(cadre=CadreFactory())
    visit = VisitFactory(
        cadre=link.cadre, enterprise=link.enterprise, flags=["impossible_speed"], flagged=True,
    )
    cadre_headers = auth_headers(client, link.cadre)
    assert client.get("/api/v1/visits/coverage", headers=cadre_headers).get_json()["overall"]["visited"] == 0
    headers = auth_headers(client, manager)
    response = client.post(f"/api/v1/visits/{visit.id}/review", json={"decision": "confirm"}, headers=headers)
    assert response.status_code == 200
    assert client.get("/api/v1/visits/coverage", headers=cadre_headers).get_json()["overall"]["visited"] == 1
