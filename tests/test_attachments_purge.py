"""The purge of uploads nobody attached (issue 16): rows and files go after 24 hours, attached and
recent uploads stay, and a second run finds nothing to do."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select, update

from service_app import scheduler
from service_app.attachments.jobs import purge_unattached
from service_app.attachments.models import Attachment
from service_app.common.time import utcnow
from service_app.extensions import db
from tests.factories import EnterpriseUserFactory
from tests.factories_files import (  # noqa: F401  (s3_endpoint and store are fixtures)
    ProblemFactory,
    png_bytes,
    s3_endpoint,
    store,
    stored_keys,
)
from tests.helpers import auth_headers


def _upload(client, headers) -> Attachment:
    response = client.post("/api/v1/attachments", data={"file": (io.BytesIO(png_bytes()), "p.png", "image/png")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return db.session.get(Attachment, response.get_json()["id"])


def _age(attachment: Attachment, hours: float) -> None:
    db.session.execute(update(Attachment).where(Attachment.id == attachment.id)
                       .values(created_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()


def test_unattached_uploads_older_than_a_day_are_purged_with_their_files(client, app_ctx, store):  # noqa: F811
    user = EnterpriseUserFactory()
    headers = auth_headers(client, user)
    stale, recent, attached = _upload(client, headers), _upload(client, headers), _upload(client, headers)
    attached.problem_id = ProblemFactory(enterprise_id=user.enterprise_id).id
    _age(stale, 25)
    _age(attached, 25)
    _age(recent, 23)
    keys = {a.id: a.storage_key for a in (stale, recent, attached)}
    assert set(keys.values()) <= stored_keys(store)

    assert purge_unattached(now=utcnow()) == 1
    db.session.expire_all()
    assert set(db.session.scalars(select(Attachment.id).where(Attachment.id.in_(keys)))) == {recent.id, attached.id}
    assert keys[stale.id] not in stored_keys(store)
    assert {keys[recent.id], keys[attached.id]} <= stored_keys(store)
    assert purge_unattached(now=utcnow()) == 0  # safe to run twice


def test_purge_is_a_registered_job():
    job = scheduler.get_job("attachments.purge_unattached")
    assert job.function() is purge_unattached
