"""Idempotency keys, attachment claiming, the notification outbox and visit coverage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import jsonify
from flask_jwt_extended import current_user
from sqlalchemy import func, select

from service_app.attachments.models import Attachment
from service_app.attachments.service import claim
from service_app.common.idempotency import idempotent, purge_expired
from service_app.common.models import IdempotencyKey
from service_app.common.time import utcnow
from service_app.common.transactions import commit
from service_app.errors import ValidationFailed
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.notifications.service import notify
from service_app.org.models import Park
from service_app.visits import coverage
from service_app.visits.models import Visit
from tests.factories import CadreFactory, LinkFactory, UserFactory
from tests.helpers import assert_error, auth_headers


@pytest.fixture(scope="session")
def idem_app(app, database_url):
    """A separate app with a create endpoint guarded by `idempotent` (routes cannot be added later),
    on the database `app` migrated (so this file also runs on its own)."""
    from service_app.auth.permissions import login_required
    from tests.conftest import make_app

    application = make_app(database_url)

    @application.route("/api/v1/_test_parks", methods=["POST"], endpoint="test_parks_create")
    @login_required
    @idempotent
    def create_park():
        from flask import request

        body = request.get_json()
        park = Park(code=body["code"], name=body["name"])
        db.session.add(park)
        commit()  # inside `idempotent`: a flush; the wrapper commits once, with the recorded answer
        response = jsonify({"id": park.id, "code": park.code, "by": current_user.username})
        response.status_code = 201
        response.headers["ETag"] = f'"park-{park.id}"'
        return response

    return application


def _park_count():
    return db.session.scalar(select(func.count()).select_from(Park))


@pytest.mark.committing
def test_idempotent_replay_conflict_and_purge(idem_app):
    with idem_app.app_context():
        client = idem_app.test_client()
        user = UserFactory()
        db.session.commit()
        headers = {**auth_headers(client, user), "Idempotency-Key": "k-1"}
        try:
            before = _park_count()
            first = client.post("/api/v1/_test_parks", json={"code": "idem1", "name": "幂等园区"}, headers=headers)
            assert first.status_code == 201
            again = client.post("/api/v1/_test_parks", json={"name": "幂等园区", "code": "idem1"}, headers=headers)
            assert again.status_code == 201
            assert again.get_json() == first.get_json()
            assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Idempotent-Replayed"] == "true"
            assert _park_count() == before + 1
            other_body = client.post("/api/v1/_test_parks", json={"code": "idem2", "name": "别的"}, headers=headers)
            assert assert_error(other_body, 422)["errors"] == {"Idempotency-Key": ["该幂等键已用于另一请求"]}
            bad_key = client.post(
                "/api/v1/_test_parks", json={"code": "x", "name": "y"}, headers={**headers, "Idempotency-Key": "é" * 3}
            )
            assert_error(bad_key, 422)
            no_key = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
            assert (
                client.post("/api/v1/_test_parks", json={"code": "idem3", "name": "无键"}, headers=no_key).status_code
                == 201
            )
            # An expired key is taken over by the next request that brings it (one statement, `_claim`).
            db.session.execute(db.update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            reused = client.post("/api/v1/_test_parks", json={"code": "idem4", "name": "过期键"}, headers=headers)
            assert reused.status_code == 201 and "Idempotent-Replayed" not in reused.headers
            replayed = client.post("/api/v1/_test_parks", json={"code": "idem4", "name": "过期键"}, headers=headers)
            assert replayed.get_json() == reused.get_json() and replayed.headers["Idempotent-Replayed"] == "true"
            assert _park_count() == before + 3
            assert purge_expired(now=utcnow()) == 0
            assert purge_expired(now=utcnow() + timedelta(hours=25)) >= 1
        finally:
            db.session.rollback()
            db.session.execute(db.delete(IdempotencyKey))
            db.session.execute(db.delete(Park).where(Park.code.like("idem%")))
            from service_app.auth.models import AuthSession, User

            db.session.execute(db.delete(AuthSession).where(AuthSession.user_id == user.id))
            db.session.execute(db.delete(User).where(User.id == user.id))
            db.session.commit()


def _upload(owner_id: int, **links) -> Attachment:
    attachment = Attachment(
        owner_id=owner_id,
        storage="local",
        storage_key=f"k/{owner_id}/{datetime.now().timestamp()}/{id(links)}",
        filename="a.jpg",
        content_type="image/jpeg",
        size=3,
        sha256="0" * 64,
        **links,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def test_claim_only_own_unattached_uploads(app_ctx):
    owner, stranger = CadreFactory(), CadreFactory()
    link = LinkFactory(cadre=owner)
    visit = Visit(cadre_id=owner.id, enterprise_id=link.enterprise_id, recorded_at=utcnow(), lat=27.8, lng=113.1)
    db.session.add(visit)
    db.session.flush()
    mine, theirs = _upload(owner.id), _upload(stranger.id)
    with pytest.raises(ValidationFailed) as error:
        claim(owner_id=owner.id, attachment_ids=[mine.id, theirs.id], visit_id=visit.id, field="photo_ids")
    assert "photo_ids" in error.value.errors
    assert mine.visit_id is None
    assert [a.id for a in claim(owner_id=owner.id, attachment_ids=[mine.id, mine.id], visit_id=visit.id)] == [mine.id]
    with pytest.raises(ValidationFailed):
        claim(owner_id=owner.id, attachment_ids=[mine.id], visit_id=visit.id)


def test_notify_queues_one_row_per_user(app_ctx):
    a, b = UserFactory(), UserFactory()
    notify([a.id, b.id, a.id, None], kind="submitted", params={"title": "新问题"})
    db.session.flush()
    rows = db.session.scalars(select(Notification).where(Notification.user_id.in_([a.id, b.id]))).all()
    assert sorted(n.user_id for n in rows) == sorted([a.id, b.id])
    with pytest.raises(ValueError):
        notify([a.id], kind="nonsense")


def test_coverage_counts_visits_in_window(app_ctx):
    as_of = datetime(2019, 6, 30, 12, tzinfo=UTC)
    visited_link, idle_link = LinkFactory(), LinkFactory()
    other_cadre_link = LinkFactory(enterprise=idle_link.enterprise)
    db.session.add_all(
        [
            Visit(
                cadre_id=visited_link.cadre_id,
                enterprise_id=visited_link.enterprise_id,
                recorded_at=as_of - timedelta(days=3),
                lat=27.8,
                lng=113.1,
            ),
            # Too old, and a visit to someone else's enterprise: neither counts.
            Visit(
                cadre_id=idle_link.cadre_id,
                enterprise_id=idle_link.enterprise_id,
                recorded_at=as_of - timedelta(days=31),
                lat=27.8,
                lng=113.1,
            ),
            Visit(
                cadre_id=idle_link.cadre_id,
                enterprise_id=visited_link.enterprise_id,
                recorded_at=as_of - timedelta(days=1),
                lat=27.8,
                lng=113.1,
            ),
        ]
    )
    db.session.flush()
    cadres = [visited_link.cadre_id, idle_link.cadre_id, other_cadre_link.cadre_id]
    per_cadre = coverage.by_cadre(as_of=as_of)
    assert [(per_cadre[c].linked, per_cadre[c].visited) for c in cadres] == [(1, 1), (1, 0), (1, 0)]
    assert coverage.overall(as_of=as_of, cadre_id=visited_link.cadre_id).rate == 1.0
    scoped = coverage.overall(
        as_of=as_of,
        enterprise_ids=select(Visit.enterprise_id).where(
            Visit.enterprise_id.in_([visited_link.enterprise_id, idle_link.enterprise_id])
        ),
    )
    assert (scoped.linked, scoped.visited) == (2, 1)
    unvisited = set(db.session.execute(coverage.unvisited_links(as_of=as_of)).all())
    assert (idle_link.cadre_id, idle_link.enterprise_id) in unvisited
    assert (visited_link.cadre_id, visited_link.enterprise_id) not in unvisited
