"""Visit endpoints: status codes, error shape, roles, idempotency, the live view, no N+1."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from service_app.common.models import IdempotencyKey
from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.visits.models import Visit
from tests.conftest import count_queries
from tests.factories import (
    AdminFactory,
    DepartmentUserFactory,
    EnterpriseFactory,
    EnterpriseUserFactory,
    UserFactory,
)
from tests.factories_files import JPEG
from tests.factories_visits import VisitFactory, offset, pair
from tests.helpers import assert_error, auth_headers

CHECK_IN = "/api/v1/visits/check-in"


@pytest.fixture
def cadre_site(client, app_ctx):
    """A cadre, its linked enterprise, and the cadre's auth headers."""
    link = pair()
    cadre, enterprise = link.cadre, link.enterprise
    return cadre, enterprise, auth_headers(client, cadre)


def _body(enterprise, *, north_m: float = 0.0, **extra) -> dict:
    lat, lng = offset(enterprise.lat, enterprise.lng, north_m=north_m)
    return {"enterprise_id": enterprise.id, "lat": lat, "lng": lng, "accuracy_m": 12, **extra}


def _count_visits(cadre_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Visit).where(Visit.cadre_id == cadre_id))


def test_acceptance_geofence_flag_and_live_view(client, app_ctx):
    """A check-in at the enterprise is inside the geofence; one 10 km away is flagged; the
    manager's live view lists the open visits."""
    here, away = pair(), pair()
    on_site = client.post(
        CHECK_IN, json=_body(here.enterprise, note="走访了解生产情况"), headers=auth_headers(client, here.cadre)
    )
    assert on_site.status_code == 201, on_site.get_json()
    body = on_site.get_json()
    assert body["within_geofence"] is True and body["flags"] == [] and body["distance_m"] == 0
    assert (
        body["open"] is True
        and body["enterprise_name"] == here.enterprise.name
        and body["cadre_name"] == here.cadre.name
    )
    far = client.post(
        CHECK_IN, json=_body(away.enterprise, north_m=10_000), headers=auth_headers(client, away.cadre)
    ).get_json()
    assert far["flags"] == ["far_from_site"] and far["flag_labels"] == ["距企业位置过远"] and far["flagged"] is True
    assert far["within_geofence"] is False and far["distance_m"] == pytest.approx(10_000, abs=1)

    manager = auth_headers(client, UserFactory())
    live = client.get("/api/v1/visits?open=true", headers=manager).get_json()
    by_id = {item["id"]: item for item in live["items"]}
    assert {body["id"], far["id"]} <= set(by_id)
    assert (
        by_id[body["id"]]["enterprise_name"] == here.enterprise.name
        and by_id[body["id"]]["cadre_name"] == here.cadre.name
    )
    flagged = client.get("/api/v1/visits?open=true&flagged=true", headers=manager).get_json()["items"]
    assert far["id"] in {v["id"] for v in flagged} and body["id"] not in {v["id"] for v in flagged}


def test_check_in_is_for_cadres_only(client, app_ctx):
    enterprise = EnterpriseFactory()
    for user in (UserFactory(), EnterpriseUserFactory(enterprise=enterprise), DepartmentUserFactory(), AdminFactory()):
        assert_error(
            client.post(CHECK_IN, json=_body(enterprise), headers=auth_headers(client, user)), 403, "forbidden"
        )
    assert_error(client.post(CHECK_IN, json=_body(enterprise)), 401)


def test_check_in_at_an_unlinked_or_unknown_enterprise_is_404(client, cadre_site):
    cadre, _enterprise, headers = cadre_site
    assert_error(client.post(CHECK_IN, json=_body(EnterpriseFactory()), headers=headers), 404, "not_found")
    assert_error(
        client.post(CHECK_IN, json={**_body(EnterpriseFactory()), "enterprise_id": 999_999}, headers=headers), 404
    )
    assert _count_visits(cadre.id) == 0


def test_bad_coordinates_and_fields_are_422(client, cadre_site):
    _cadre, enterprise, headers = cadre_site
    bad = {
        "enterprise_id": enterprise.id,
        "lat": 90.5,
        "lng": -180.01,
        "accuracy_m": -1,
        "client_id": "有空格 x",
        "photo_ids": "1",
    }
    body = assert_error(client.post(CHECK_IN, json=bad, headers=headers), 422, "validation_failed")
    assert set(body["errors"]) == {"lat", "lng", "accuracy_m", "client_id", "photo_ids"}
    assert (
        "lat"
        in assert_error(client.post(CHECK_IN, json={**_body(enterprise), "lat": "NaN"}, headers=headers), 422)["errors"]
    )
    missing = assert_error(client.post(CHECK_IN, json={"enterprise_id": enterprise.id}, headers=headers), 422)
    assert set(missing["errors"]) == {"lat", "lng", "accuracy_m"}
    assert (
        "surprise"
        in assert_error(client.post(CHECK_IN, json={**_body(enterprise), "surprise": 1}, headers=headers), 422)[
            "errors"
        ]
    )


def test_capture_time_outside_the_window_is_422_naming_recorded_at(client, cadre_site):
    _cadre, enterprise, headers = cadre_site
    now = utcnow()
    for recorded_at in (now - timedelta(hours=72, minutes=1), now + timedelta(minutes=6)):
        body = assert_error(
            client.post(CHECK_IN, json=_body(enterprise, recorded_at=recorded_at.isoformat()), headers=headers), 422
        )
        assert list(body["errors"]) == ["recorded_at"]
    offline = client.post(
        CHECK_IN, json=_body(enterprise, recorded_at=(now - timedelta(hours=71)).isoformat()), headers=headers
    )
    assert offline.status_code == 201
    english = client.post(
        CHECK_IN,
        json=_body(enterprise, recorded_at=(now + timedelta(hours=1)).isoformat()),
        headers={**headers, "Accept-Language": "en"},
    )
    assert assert_error(english, 422)["errors"]["recorded_at"] == ["Must not be in the future"]


def test_idempotency_key_replays_the_first_response(client, cadre_site):
    cadre, enterprise, headers = cadre_site
    keyed = {**headers, "Idempotency-Key": "visit-key-1"}
    first = client.post(CHECK_IN, json=_body(enterprise), headers=keyed)
    again = client.post(CHECK_IN, json=_body(enterprise), headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert _count_visits(cadre.id) == 1
    assert_error(client.post(CHECK_IN, json=_body(enterprise, north_m=50), headers=keyed), 422)


def test_client_id_returns_the_visit_after_the_key_expired(client, cadre_site):
    cadre, enterprise, headers = cadre_site
    body = _body(enterprise, client_id="0b6f9a4e-offline-1", recorded_at=(utcnow() - timedelta(hours=2)).isoformat())
    keyed = {**headers, "Idempotency-Key": "visit-key-2"}
    first = client.post(CHECK_IN, json=body, headers=keyed)
    assert first.status_code == 201
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == cadre.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    again = client.post(CHECK_IN, json=body, headers=keyed)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _count_visits(cadre.id) == 1


def test_client_id_resent_days_later_is_not_refused_as_too_old(client, cadre_site):
    cadre, enterprise, headers = cadre_site
    sent = utcnow() - timedelta(days=5)
    stored = VisitFactory(cadre=cadre, enterprise=enterprise, client_id="app-gen-77", recorded_at=sent)
    response = client.post(
        CHECK_IN, json=_body(enterprise, client_id="app-gen-77", recorded_at=sent.isoformat()), headers=headers
    )
    assert response.status_code == 200 and response.get_json()["id"] == stored.id
    other = client.post(CHECK_IN, json=_body(pair(cadre=cadre).enterprise, client_id="app-gen-77"), headers=headers)
    assert list(assert_error(other, 422)["errors"]) == ["client_id"]


def test_check_out(client, cadre_site):
    cadre, enterprise, headers = cadre_site
    visit = client.post(
        CHECK_IN, json=_body(enterprise, recorded_at=(utcnow() - timedelta(minutes=30)).isoformat()), headers=headers
    ).get_json()
    url = f"/api/v1/visits/{visit['id']}/check-out"
    out = {"lat": enterprise.lat, "lng": enterprise.lng, "summary": "  了解企业融资需求  "}
    assert_error(client.post(url, json=out, headers=auth_headers(client, pair(enterprise=enterprise).cadre)), 404)
    assert_error(client.post(url, json=out, headers=auth_headers(client, UserFactory())), 403)
    assert_error(client.post("/api/v1/visits/999999/check-out", json=out, headers=headers), 404)
    assert set(
        assert_error(client.post(url, json={"lat": 100, "lng": 0, "summary": " "}, headers=headers), 422)["errors"]
    ) == {"lat", "summary"}
    early = {**out, "recorded_at": (utcnow() - timedelta(hours=1)).isoformat()}
    assert list(assert_error(client.post(url, json=early, headers=headers), 422)["errors"]) == ["recorded_at"]
    done = client.post(url, json=out, headers=headers)
    assert done.status_code == 200
    body = done.get_json()
    assert body["open"] is False and body["summary"] == "了解企业融资需求" and 30 * 60 <= body["duration_s"] < 32 * 60
    twice = assert_error(client.post(url, json=out, headers=headers), 409, "visit_checked_out")
    assert twice["visit"]["id"] == visit["id"] and twice["visit"]["checked_out_at"] == body["checked_out_at"]


def test_visibility_by_role(client, app_ctx):
    mine, theirs = pair(), pair()
    own = VisitFactory(cadre=mine.cadre, enterprise=mine.enterprise)
    foreign = VisitFactory(cadre=theirs.cadre, enterprise=theirs.enterprise)
    cadre = auth_headers(client, mine.cadre)
    listed = {v["id"] for v in client.get("/api/v1/visits", headers=cadre).get_json()["items"]}
    assert own.id in listed and foreign.id not in listed
    assert client.get(f"/api/v1/visits?cadre_id={theirs.cadre_id}", headers=cadre).get_json()["items"] == []
    assert client.get(f"/api/v1/visits/{own.id}", headers=cadre).status_code == 200
    assert_error(client.get(f"/api/v1/visits/{foreign.id}", headers=cadre), 404)
    manager = auth_headers(client, UserFactory())
    assert {own.id, foreign.id} <= {v["id"] for v in client.get("/api/v1/visits", headers=manager).get_json()["items"]}
    assert client.get(f"/api/v1/visits/{foreign.id}", headers=manager).get_json()["cadre_name"] == theirs.cadre.name
    for user in (EnterpriseUserFactory(enterprise=mine.enterprise), DepartmentUserFactory(), AdminFactory()):
        headers = auth_headers(client, user)
        assert_error(client.get("/api/v1/visits", headers=headers), 403)
        assert_error(client.get(f"/api/v1/visits/{own.id}", headers=headers), 403)


def test_list_filters_and_pages(client, app_ctx):
    link = pair()
    now = utcnow()
    old = VisitFactory(
        cadre=link.cadre,
        enterprise=link.enterprise,
        recorded_at=now - timedelta(days=3),
        checked_out_at=now - timedelta(days=3) + timedelta(hours=1),
        duration_s=3600,
    )
    flagged = VisitFactory(
        cadre=link.cadre,
        enterprise=link.enterprise,
        recorded_at=now - timedelta(days=2),
        flags=["poor_accuracy"],
        flagged=True,
        checked_out_at=now - timedelta(days=2),
        duration_s=0,
    )
    elsewhere = VisitFactory(enterprise=EnterpriseFactory(), recorded_at=now - timedelta(days=1))
    current = VisitFactory(cadre=link.cadre, enterprise=link.enterprise, recorded_at=now - timedelta(minutes=5))
    headers = auth_headers(client, UserFactory())

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/visits?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [v["id"] for v in response.get_json()["items"]]

    assert ids(f"cadre_id={link.cadre_id}") == [current.id, flagged.id, old.id]
    assert ids(f"enterprise_id={elsewhere.enterprise_id}") == [elsewhere.id]
    assert ids(f"cadre_id={link.cadre_id}&flagged=true") == [flagged.id]
    assert ids(f"cadre_id={link.cadre_id}&open=false") == [flagged.id, old.id]
    assert ids(f"cadre_id={link.cadre_id}&open=true") == [current.id]
    start, end = (now - timedelta(days=2, minutes=1)).isoformat(), (now - timedelta(minutes=5)).isoformat()
    window = f"from={start}&to={end}".replace("+", "%2B")
    assert ids(f"cadre_id={link.cadre_id}&{window}") == [flagged.id]
    since = (now - timedelta(seconds=1)).isoformat().replace("+", "%2B")
    assert set(ids(f"updated_since={since}")) >= {current.id, old.id}
    backwards = f"from={now.isoformat()}&to={(now - timedelta(days=1)).isoformat()}".replace("+", "%2B")
    assert list(assert_error(client.get(f"/api/v1/visits?{backwards}", headers=headers), 422)["errors"]) == ["to"]

    seen, cursor = [], None
    while True:
        page = client.get(
            f"/api/v1/visits?cadre_id={link.cadre_id}&limit=2" + (f"&cursor={cursor}" if cursor else ""),
            headers=headers,
        ).get_json()
        seen += [v["id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [current.id, flagged.id, old.id]
    assert_error(client.get("/api/v1/visits?cursor=nonsense", headers=headers), 422)


@pytest.mark.parametrize("path", ["/api/v1/visits", "/api/v1/visits?open=true"])
def test_list_issues_the_same_statements_for_5_and_50_visits(client, app, app_ctx, path):
    headers = auth_headers(client, UserFactory())

    def statements_for(rows: int) -> int:
        for _ in range(rows):
            link = pair()
            VisitFactory(cadre=link.cadre, enterprise=link.enterprise)
        db.session.commit()
        with count_queries(app) as statements:
            response = client.get(f"{path}{'&' if '?' in path else '?'}limit=100", headers=headers)
        assert response.status_code == 200 and all(
            item["cadre_name"] and item["enterprise_name"] for item in response.get_json()["items"]
        )
        return len(statements)

    few, many = statements_for(5), statements_for(45)
    assert few == many <= 4, (few, many)


def test_detail_includes_photos_and_problems(client, cadre_site):
    from service_app.problems.models import Problem
    from tests.factories import CategoryFactory

    cadre, enterprise, headers = cadre_site
    visit = client.post(CHECK_IN, json=_body(enterprise), headers=headers).get_json()
    assert visit["photo_ids"] == [] and visit["problem_ids"] == []
    now = utcnow()
    problem = Problem(
        code=f"V{visit['id']}",
        enterprise_id=enterprise.id,
        category_id=CategoryFactory().id,
        title="园区配套食堂不足",
        description="员工就餐难",
        filed_by_id=cadre.id,
        cadre_id=cadre.id,
        response_due_at=now,
        due_at=now,
        visit_id=visit["id"],
    )
    db.session.add(problem)
    db.session.commit()
    detail = client.get(f"/api/v1/visits/{visit['id']}", headers=headers).get_json()
    assert detail["problem_ids"] == [problem.id]


def test_coverage_for_managers_and_cadres(client, app_ctx):
    now = utcnow()
    behind, ahead = pair(), pair()
    pair(cadre=ahead.cadre)
    VisitFactory(cadre=ahead.cadre, enterprise=ahead.enterprise, recorded_at=now - timedelta(days=2))
    manager = auth_headers(client, UserFactory())
    report = client.get("/api/v1/visits/coverage?limit=100", headers=manager).get_json()
    rows = {row["cadre_id"]: row for row in report["items"]}
    assert (rows[behind.cadre_id]["linked"], rows[behind.cadre_id]["visited"], rows[behind.cadre_id]["rate"]) == (
        1,
        0,
        0.0,
    )
    assert (rows[ahead.cadre_id]["linked"], rows[ahead.cadre_id]["visited"], rows[ahead.cadre_id]["rate"]) == (
        2,
        1,
        0.5,
    )
    assert rows[ahead.cadre_id]["cadre_name"] == ahead.cadre.name
    rates = [row["rate"] for row in report["items"]]
    assert rates == sorted(rates) and report["days"] == 30 and report["overall"]["linked"] >= 3

    first = client.get("/api/v1/visits/coverage?limit=1", headers=manager).get_json()
    second = client.get(f"/api/v1/visits/coverage?limit=1&cursor={first['next_cursor']}", headers=manager).get_json()
    assert [first["items"][0]["cadre_id"], second["items"][0]["cadre_id"]] == [
        row["cadre_id"] for row in report["items"][:2]
    ]

    own = client.get("/api/v1/visits/coverage", headers=auth_headers(client, ahead.cadre)).get_json()
    assert own["overall"] == {"linked": 2, "visited": 1, "rate": 0.5}
    assert [row["cadre_id"] for row in own["items"]] == [ahead.cadre_id] and own["next_cursor"] is None
    assert (
        client.get("/api/v1/visits/coverage?days=1", headers=auth_headers(client, ahead.cadre)).get_json()["overall"][
            "visited"
        ]
        == 0
    )
    assert_error(client.get("/api/v1/visits/coverage?days=0", headers=manager), 422)
    assert_error(client.get("/api/v1/visits/coverage", headers=auth_headers(client, AdminFactory())), 403)


def test_openapi_documents_the_visit_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    check_in = paths["/api/v1/visits/check-in"]["post"]
    assert {"200", "201", "403", "404", "422"} <= set(check_in["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in check_in["parameters"])
    assert {
        "/api/v1/visits",
        "/api/v1/visits/{visit_id}",
        "/api/v1/visits/{visit_id}/check-out",
        "/api/v1/visits/coverage",
    } <= set(paths)


@pytest.mark.committing
def test_concurrent_resends_of_one_client_id_make_one_visit(app, backend):
    """Two phones' worth of retries at the same instant: one 201, one 200, one row (PostgreSQL).

    SQLite runs one writer at a time, so there is no race to settle there; the service test
    `test_client_id_race_is_settled_by_the_unique_constraint` covers the constraint path on both.
    """
    if backend != "postgresql":
        pytest.skip("a real write race needs PostgreSQL")
    import threading

    from service_app.auth.models import AuthSession, User
    from service_app.org.models import CadreLink, Enterprise

    with app.app_context():
        link = pair()
        cadre, enterprise = link.cadre, link.enterprise
        db.session.commit()
        ids = {"cadre": cadre.id, "enterprise": enterprise.id}
        body = _body(enterprise, client_id="concurrent-1")
        headers = auth_headers(app.test_client(), cadre)
    barrier, results = threading.Barrier(2), []

    def send():
        barrier.wait()
        response = app.test_client().post(CHECK_IN, json=body, headers=headers)
        results.append((response.status_code, response.get_json().get("id")))

    try:
        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(status for status, _ in results) == [200, 201], results
        assert len({visit_id for _, visit_id in results}) == 1
        with app.app_context():
            assert _count_visits(ids["cadre"]) == 1
    finally:
        with app.app_context():
            db.session.execute(db.delete(Visit).where(Visit.cadre_id == ids["cadre"]))
            db.session.execute(db.delete(CadreLink).where(CadreLink.cadre_id == ids["cadre"]))
            db.session.execute(db.delete(AuthSession).where(AuthSession.user_id == ids["cadre"]))
            db.session.execute(db.delete(User).where(User.id == ids["cadre"]))
            db.session.execute(db.delete(Enterprise).where(Enterprise.id == ids["enterprise"]))
            db.session.commit()


@pytest.mark.parametrize("client_id", [None, "phone-1"])
def test_check_in_answers_what_a_get_reads_afterwards_in_few_statements(client, app, cadre_site, client_id):
    """The 201 is built from what the check-in wrote (no re-read after the commit): it must equal the
    visit read back, names and photos included."""
    cadre, enterprise, headers = cadre_site
    earlier = client.post(CHECK_IN, json=_body(enterprise, north_m=20), headers=headers).get_json()
    photos = [
        client.post(
            "/api/v1/attachments", data={"file": (io.BytesIO(JPEG), f"p{i}.jpg", "image/jpeg")}, headers=headers,
            content_type="multipart/form-data",
        ).get_json()["id"]
        for i in range(2)
    ]
    body = _body(enterprise, photo_ids=photos[::-1], **({"client_id": client_id} if client_id else {}))
    with count_queries(app) as seen:
        created = client.post(CHECK_IN, json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    read = client.get(f"/api/v1/visits/{created.get_json()['id']}", headers=headers)
    assert created.get_json() == read.get_json() and created.get_json()["photo_ids"] == sorted(photos)
    closed = client.get(f"/api/v1/visits/{earlier['id']}", headers=headers).get_json()
    assert closed["auto_closed"] is True and closed["open"] is False
    # session check, cadre lock with the linked enterprise, the visits around it (with the client_id's
    # look-up), the visit (INSERT … RETURNING), the earlier open visit closed (one UPDATE), the photos
    # claimed (read, updated); nothing after the commit
    assert len(seen) == 7, seen


def test_visit_document_equals_the_schema_dump_in_every_state(client, app_ctx):
    """Visit answers are written by schemas.visit_document, not dumped: for open, checked-out,
    auto-closed, flagged (pending, confirmed, dismissed) and sparse visits, with photos and
    problems, it must equal VisitDetailSchema's dump and be what GET /visits/{id} sends."""
    from service_app.auth.models import Role
    from service_app.visits import service
    from service_app.visits.schemas import VisitDetailSchema, visit_document

    site = pair()
    now = utcnow()
    manager = UserFactory(role=Role.MANAGER.value)
    kinds = [
        {},
        {"note": "了解生产情况", "client_id": "phone-7", "mock_location": True},
        {
            "checked_out_at": now, "check_out_lat": site.enterprise.lat, "check_out_lng": site.enterprise.lng,
            "summary": "了解融资需求", "duration_s": 1800,
        },
        {"checked_out_at": now, "duration_s": 43200, "auto_closed": True},
        {"flags": ["far_from_site", "poor_accuracy"], "flagged": True, "within_geofence": False, "distance_m": 1234.56},
        *(
            {
                "flags": ["impossible_speed"], "flagged": True, "within_geofence": False, "distance_m": 10.04,
                "review": review, "reviewed_at": now, "reviewed_by_id": manager.id, "review_note": note,
            }
            for review, note in (("confirmed", "属实"), ("dismissed", None))
        ),
        {"accuracy_m": None, "distance_m": None},
    ]
    visits = [VisitFactory(cadre=site.cadre, enterprise=site.enterprise, **kind) for kind in kinds]
    db.session.commit()
    headers = auth_headers(client, manager)
    for visit in visits:
        view = service.get_visit(actor=manager, visit_id=visit.id)
        assert visit_document(view) == VisitDetailSchema().dump(view), visit.id
        assert client.get(f"/api/v1/visits/{visit.id}", headers=headers).get_json() == VisitDetailSchema().dump(view)
    # A check-in's own answer, with photos, against the schema's dump of the visit read back.
    cadre_headers = auth_headers(client, site.cadre)
    photo = client.post(
        "/api/v1/attachments", data={"file": (io.BytesIO(JPEG), "p.jpg", "image/jpeg")}, headers=cadre_headers,
        content_type="multipart/form-data",
    ).get_json()["id"]
    created = client.post(CHECK_IN, json=_body(site.enterprise, photo_ids=[photo]), headers=cadre_headers)
    assert created.status_code == 201, created.get_json()
    view = service.get_visit(actor=manager, visit_id=created.get_json()["id"])
    assert view.photo_ids == [photo]
    assert created.get_json() == VisitDetailSchema().dump(view)
