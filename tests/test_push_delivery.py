"""Push delivery from the outbox: per (notice, device), through the real JPush sender to the local
JPush contract server (tests/jpush_server.py), with backoff on a clock the test moves."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from service_app.auth.models import Device, User
from service_app.extensions import db
from service_app.notifications import delivery, jobs
from service_app.notifications.jpush import JPushSender
from service_app.notifications.models import Delivery, Notification
from service_app.notifications.push import RecordingSender
from service_app.notifications.senders import SenderConfigError, build_senders
from service_app.scheduler import get_job
from service_app.scheduling.runner import run_job
from tests.factories import AdminFactory, CadreFactory, UserFactory
from tests.factories_files import NotificationFactory
from tests.helpers import assert_error, auth_headers
from tests.jpush_server import INTERNAL_ERROR, RATE_LIMITED, JPushServer

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def jpush_server():
    with JPushServer() as server:
        yield server


@pytest.fixture
def senders(jpush_server):
    sender = JPushSender(app_key=jpush_server.app_key, master_secret=jpush_server.master_secret,
                         base_url=jpush_server.base_url, time_to_live=3600)
    return {"jpush": sender}


def device_for(user, server: JPushServer, token: str, *, platform: str = "android", locale: str | None = None):
    server.registered.add(token)
    device = Device(user_id=user.id, platform=platform, provider="jpush", token=token, locale=locale)
    db.session.add(device)
    db.session.flush()
    return device


def deliveries(notice) -> list[Delivery]:
    return list(db.session.scalars(
        select(Delivery).where(Delivery.notification_id == notice.id).order_by(Delivery.id)
        .execution_options(populate_existing=True)
    ))


def run(senders, now, **kwargs):
    return jobs.deliver_pending(senders=senders, now=now, rng=random.Random(7), **kwargs)


def test_a_push_reaches_jpush_with_the_documented_body(app_ctx, jpush_server, senders):
    reader = CadreFactory()
    device_for(reader, jpush_server, "android-1")
    device_for(reader, jpush_server, "iphone-1", platform="ios")
    device_for(reader, jpush_server, "mate-1", platform="harmony")
    device_for(reader, jpush_server, "english-phone", locale="en-GB")
    notice = NotificationFactory(user_id=reader.id, kind="accepted", params={"code": "WT1", "title": "园区路灯不亮"})
    counts = run(senders, T0)
    assert (counts.sent, counts.retried, counts.failed) == (4, 0, 0)
    by_token = {body["audience"]["registration_id"][0]: body for body in jpush_server.received}
    extras = {"notification_id": notice.id, "kind": "accepted"}
    options = {"time_to_live": 3600, "apns_production": False}
    assert by_token["android-1"] == {
        "platform": ["android"],
        "audience": {"registration_id": ["android-1"]},
        "notification": {
            "alert": "园区路灯不亮（WT1）",
            "android": {"alert": "园区路灯不亮（WT1）", "title": "您反映的问题已受理", "extras": extras},
        },
        "options": options,
    }
    ios = {"alert": {"title": "您反映的问题已受理", "body": "园区路灯不亮（WT1）"}, "extras": extras}
    assert by_token["iphone-1"]["notification"]["ios"] == ios
    assert by_token["mate-1"]["platform"] == ["hmos"]
    assert by_token["mate-1"]["notification"]["hmos"]["title"] == "您反映的问题已受理"
    english = by_token["english-phone"]["notification"]["android"]
    assert (english["title"], english["alert"]) == ("Your problem has been accepted", "园区路灯不亮 (WT1)")
    assert {d.state for d in deliveries(notice)} == {"sent"}
    assert run(senders, T0 + timedelta(hours=1)).handled == 0 and len(jpush_server.received) == 4


def test_a_reader_with_no_active_device_is_skipped_not_failed(app_ctx, jpush_server, senders):
    lonely, retired = UserFactory(), UserFactory()
    device_for(retired, jpush_server, "old-phone").is_active = False
    notices = [NotificationFactory(user_id=lonely.id), NotificationFactory(user_id=retired.id)]
    assert run(senders, T0).handled == 0
    for notice in notices:
        [row] = deliveries(notice)
        assert (row.state, row.device_id, row.attempts) == ("skipped", None, 0)
    assert jpush_server.received == [] and jpush_server.answered == []


def test_invalid_token_deactivates_the_device_at_once_and_admins_see_failures(client, app_ctx, jpush_server, senders):
    reader = CadreFactory()
    gone = device_for(reader, jpush_server, "uninstalled")
    jpush_server.registered.discard("uninstalled")  # JPush no longer knows it: 1011
    device_for(reader, jpush_server, "still-here")
    notice = NotificationFactory(user_id=reader.id)
    counts = run(senders, T0)
    assert (counts.sent, counts.failed, counts.retried) == (1, 1, 0)
    db.session.refresh(gone)
    assert gone.is_active is False and gone.deactivated_at == T0
    failed = next(d for d in deliveries(notice) if d.device_id == gone.id)
    assert failed.state == "failed" and failed.attempts == 1 and "1011" in failed.last_error
    # The next notice is not queued for the deactivated device.
    later = NotificationFactory(user_id=reader.id)
    run(senders, T0 + timedelta(minutes=1))
    assert [d.device_id for d in deliveries(later)] != [gone.id] and len(deliveries(later)) == 1
    page = client.get("/api/v1/notifications/failed", headers=auth_headers(client, AdminFactory())).get_json()
    [item] = [i for i in page["items"] if i["id"] == failed.id]
    assert item["notification_id"] == notice.id and item["user_id"] == reader.id
    assert (item["device_id"], item["provider"], item["platform"], item["attempts"]) == (gone.id, "jpush", "android", 1)
    assert_error(client.get("/api/v1/notifications/failed", headers=auth_headers(client, reader)), 403)
    assert_error(client.get("/api/v1/notifications/failed"), 401)


def test_a_server_error_is_retried_with_growing_delays_until_it_goes_through(app, app_ctx, jpush_server, senders):
    assert app.config["NOTIFICATION_MAX_ATTEMPTS"] == 5
    device = device_for(CadreFactory(), jpush_server, "flaky")
    notice = NotificationFactory(user_id=device.user_id)
    jpush_server.script("flaky", INTERNAL_ERROR, INTERNAL_ERROR, RATE_LIMITED, INTERNAL_ERROR)
    now, delays = T0, []
    for _ in range(4):
        assert run(senders, now).retried == 1
        [row] = deliveries(notice)
        assert row.state == "pending" and row.next_attempt_at > now
        delays.append(row.next_attempt_at - now)
        # Not due yet: a run a second early pushes nothing.
        assert run(senders, row.next_attempt_at - timedelta(seconds=1)).handled == 0
        now = row.next_attempt_at
    assert all(earlier < later for earlier, later in zip(delays, delays[1:], strict=False)), delays
    base = timedelta(seconds=app.config["NOTIFICATION_RETRY_BASE_SECONDS"])
    assert base / 2 <= delays[0] <= base and base * 4 <= delays[3] <= base * 8
    assert run(senders, now).sent == 1
    [row] = deliveries(notice)
    assert (row.state, row.attempts, row.finished_at) == ("sent", 5, now)
    assert jpush_server.answered == [1000, 1000, 2002, 1000, 0]


def test_after_the_last_attempt_the_delivery_is_failed(app, app_ctx, jpush_server, senders):
    device = device_for(CadreFactory(), jpush_server, "always-busy")
    notice = NotificationFactory(user_id=device.user_id)
    jpush_server.script("always-busy", *[RATE_LIMITED] * 10)
    now = T0
    for _ in range(app.config["NOTIFICATION_MAX_ATTEMPTS"]):
        run(senders, now)
        [row] = deliveries(notice)
        now = row.next_attempt_at or now
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 5, None)
    assert "2002" in row.last_error and device.is_active is True  # busy is not invalid
    assert run(senders, now + timedelta(days=1)).handled == 0


def test_a_moved_or_removed_device_gets_no_more_of_the_previous_owners_pushes(app_ctx, jpush_server, senders):
    owner, next_owner = CadreFactory(), CadreFactory()
    moved = device_for(owner, jpush_server, "shared-phone")
    removed = device_for(owner, jpush_server, "logged-out-phone")
    notice = NotificationFactory(user_id=owner.id)
    jpush_server.script("shared-phone", INTERNAL_ERROR)
    jpush_server.script("logged-out-phone", INTERNAL_ERROR)
    assert run(senders, T0).retried == 2
    moved.user_id = next_owner.id
    db.session.delete(removed)
    db.session.flush()
    assert run(senders, T0 + timedelta(days=1)).skipped == 1
    [row] = deliveries(notice)
    assert (row.device_id, row.state) == (moved.id, "skipped")
    assert jpush_server.answered == [1000, 1000]


def test_the_scheduled_job_pushes_through_the_apps_configured_senders(app, app_ctx, jpush_server, monkeypatch):
    monkeypatch.setitem(app.extensions, "push_senders", build_senders({
        "JPUSH_APP_KEY": jpush_server.app_key, "JPUSH_MASTER_SECRET": jpush_server.master_secret,
        "JPUSH_BASE_URL": jpush_server.base_url,
    }))
    device = device_for(CadreFactory(), jpush_server, "scheduled-phone")
    NotificationFactory(user_id=device.user_id)
    result = run_job(app, get_job("notifications.deliver"), now=T0)
    assert (result.outcome, result.rows_affected) == ("ok", 1)
    assert [body["audience"]["registration_id"] for body in jpush_server.received] == [["scheduled-phone"]]


def test_push_settings_build_one_sender_per_provider():
    assert isinstance(build_senders({})["jpush"], RecordingSender)
    configured = build_senders({"JPUSH_APP_KEY": "k", "JPUSH_MASTER_SECRET": "s", "JPUSH_BASE_URL": "http://127.0.0.1:9/"})
    assert isinstance(configured["jpush"], JPushSender) and configured["jpush"].url == "http://127.0.0.1:9/v3/push"
    with pytest.raises(SenderConfigError, match="JPUSH_MASTER_SECRET"):
        build_senders({"JPUSH_APP_KEY": "k"})


@pytest.mark.committing
def test_two_concurrent_runs_push_each_delivery_exactly_once(app, jpush_server, senders, monkeypatch):
    """Two scheduler replicas at once: SKIP LOCKED (PostgreSQL) or the write lock (SQLite) splits the work."""
    monkeypatch.setattr(jobs, "BATCH_SIZE", 5)  # many batches, so the replicas interleave
    with app.app_context():
        users = [UserFactory(), UserFactory()]
        db.session.flush()
        for i, user in enumerate(users):
            device_for(user, jpush_server, f"replica-phone-{i}")
        notices = [NotificationFactory(user_id=users[i % 2].id) for i in range(40)]
        db.session.commit()
        ids, user_ids = [n.id for n in notices], [u.id for u in users]
    results, errors = [], []
    start = threading.Barrier(2)

    def replica():
        try:
            with app.app_context():
                start.wait()
                results.append(jobs.deliver_pending(senders=senders, now=T0))
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        pushed = sorted(body["notification"]["android"]["extras"]["notification_id"] for body in jpush_server.received)
        assert pushed == sorted(ids)
        assert sum(r.sent for r in results) == len(ids)
    finally:
        with app.app_context():
            db.session.execute(delete(Notification).where(Notification.user_id.in_(user_ids)))
            db.session.execute(delete(User).where(User.id.in_(user_ids)))
            db.session.commit()


def test_a_claim_whose_scheduler_died_is_pushed_after_the_lease(app, app_ctx, jpush_server, senders):
    device = device_for(CadreFactory(), jpush_server, "crashy")
    notice = NotificationFactory(user_id=device.user_id)
    assert delivery.queue_new(now=T0, size=10) == 1
    [claimed] = delivery.claim_due(now=T0, size=10, lease=timedelta(minutes=30))  # …and the process dies here
    assert claimed.message.token == "crashy"
    assert run(senders, T0 + timedelta(minutes=29)).handled == 0
    assert run(senders, T0 + timedelta(minutes=30)).sent == 1
    assert [d.state for d in deliveries(notice)] == ["sent"] and len(jpush_server.received) == 1
