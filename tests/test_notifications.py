"""In-app notices: the caller's own list, read state, and delivery through the push sender."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.notifications import jobs, senders
from service_app.notifications.models import Notification
from service_app.notifications.service import RecordingSender
from tests.conftest import count_queries
from tests.factories import UserFactory
from tests.factories_files import NotificationFactory
from tests.helpers import assert_error, auth_headers

URL = "/api/v1/me/notifications"
NOW = datetime(2019, 5, 6, 8, 30, tzinfo=UTC)


def notices_for(user, count: int, **fields) -> list[Notification]:
    return [NotificationFactory(user_id=user.id, **fields) for _ in range(count)]


# --- the caller's list ------------------------------------------------------------------------------

def test_list_shows_only_own_notices_newest_first_with_unread_count(client, app_ctx):
    me, other = UserFactory(), UserFactory()
    mine = notices_for(me, 3)
    notices_for(other, 2)
    mine[0].read_at = NOW
    db.session.flush()
    response = client.get(URL, headers=auth_headers(client, me))
    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == sorted((n.id for n in mine), reverse=True)
    assert body["next_cursor"] is None
    assert response.headers["X-Unread-Count"] == "2"
    first = body["items"][-1]
    assert first["read"] is True and first["read_at"].startswith("2019-05-06T08:30:00")
    assert set(first) == {
        "id",
        "kind",
        "title",
        "body",
        "problem_id",
        "visit_id",
        "data",
        "created_at",
        "read_at",
        "read",
    }
    assert_error(client.get(URL), 401)


def test_unread_filter(client, app_ctx):
    me = UserFactory()
    unread, read = notices_for(me, 2), notices_for(me, 1, read_at=NOW)
    headers = auth_headers(client, me)
    only_unread = client.get(URL, query_string={"unread": "true"}, headers=headers)
    assert {i["id"] for i in only_unread.get_json()["items"]} == {n.id for n in unread}
    only_read = client.get(URL, query_string={"unread": "false"}, headers=headers)
    assert [i["id"] for i in only_read.get_json()["items"]] == [read[0].id]
    assert only_read.headers["X-Unread-Count"] == "2"
    assert_error(client.get(URL, query_string={"unread": "maybe"}, headers=headers), 422)


def test_pages_cover_every_notice_once_even_when_new_ones_arrive(client, app_ctx):
    me = UserFactory()
    created = {n.id for n in notices_for(me, 25)}
    headers = auth_headers(client, me)
    seen: list[int] = []
    cursor = None
    for page_number in range(10):
        query = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, query_string=query, headers=headers).get_json()
        seen += [item["id"] for item in body["items"]]
        if page_number == 0:
            notices_for(me, 2)  # arrive while the user scrolls: they belong above page one
            db.session.flush()
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, reverse=True)
    assert_error(client.get(URL, query_string={"cursor": "not-a-cursor"}, headers=headers), 422)


def test_list_runs_a_fixed_number_of_statements(client, app, app_ctx):
    few, many = UserFactory(), UserFactory()
    notices_for(few, 5)
    notices_for(many, 50)
    db.session.flush()
    counts = []
    for user in (few, many):
        headers = auth_headers(client, user)
        with count_queries(app) as statements:
            response = client.get(URL, query_string={"limit": 100}, headers=headers)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert (
        len(client.get(URL, query_string={"limit": 100}, headers=auth_headers(client, many)).get_json()["items"]) == 50
    )


# --- read state ------------------------------------------------------------------------------------


def test_read_marks_own_notice_once_and_hides_others(client, app_ctx):
    me, other = UserFactory(), UserFactory()
    mine, theirs = notices_for(me, 2), notices_for(other, 1)
    headers = auth_headers(client, me)
    first = client.post(f"{URL}/{mine[0].id}/read", headers=headers)
    assert first.status_code == 200
    assert first.get_json()["read"] is True and first.headers["X-Unread-Count"] == "1"
    again = client.post(f"{URL}/{mine[0].id}/read", headers=headers)
    assert again.status_code == 200 and again.get_json()["read_at"] == first.get_json()["read_at"]
    assert_error(client.post(f"{URL}/{theirs[0].id}/read", headers=headers), 404)
    assert_error(client.post(f"{URL}/{theirs[0].id + 100_000}/read", headers=headers), 404)
    assert db.session.scalar(select(Notification.read_at).where(Notification.id == theirs[0].id)) is None


def test_read_all_marks_only_own_and_respects_up_to_id(client, app_ctx):
    me, other = UserFactory(), UserFactory()
    mine = notices_for(me, 4)
    theirs = notices_for(other, 2)
    headers = auth_headers(client, me)
    partial = client.post(f"{URL}/read-all", json={"up_to_id": mine[1].id}, headers=headers)
    assert partial.status_code == 200 and partial.get_json() == {"updated": 2, "unread_count": 2}
    everything = client.post(f"{URL}/read-all", headers=headers)  # no body at all
    assert everything.get_json() == {"updated": 2, "unread_count": 0}
    assert client.post(f"{URL}/read-all", json={}, headers=headers).get_json() == {"updated": 0, "unread_count": 0}
    unread_of_other = db.session.scalars(
        select(Notification.id).where(Notification.user_id == other.id, Notification.read_at.is_(None))
    ).all()
    assert sorted(unread_of_other) == sorted(n.id for n in theirs)
    assert_error(client.post(f"{URL}/read-all", json={"up_to_id": 0}, headers=headers), 422)


# --- delivery -------------------------------------------------------------------------------------


class CollectingSender:
    """Records what it was given; fails for the ids in `failing` (a gateway refusing a device)."""

    def __init__(self, failing: set[int] | None = None, delay: float = 0.0) -> None:
        self.sent: list[int] = []
        self.failing = failing or set()
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, notice: Notification) -> None:
        if notice.id in self.failing:
            raise ConnectionError("push gateway refused the notice")
        time.sleep(self.delay)
        with self._lock:
            self.sent.append(notice.id)


class NotASender:
    pass


class NeedsSettings:
    def __init__(self, gateway_url: str) -> None:
        self.gateway_url = gateway_url

    def send(self, notice: Notification) -> None:
        raise AssertionError("never constructed")


def _state(ids):
    rows = db.session.execute(
        select(Notification.id, Notification.delivered_at, Notification.delivery_attempts).where(
            Notification.id.in_(ids)
        )
    ).all()
    return {row.id: (row.delivered_at, row.delivery_attempts) for row in rows}


def test_deliver_pending_marks_delivered_and_is_idempotent(app_ctx, monkeypatch):
    monkeypatch.setattr(jobs, "BATCH_SIZE", 2)  # several batches out of five notices
    user = UserFactory()
    ids = [n.id for n in notices_for(user, 5)]
    already = NotificationFactory(user_id=user.id, delivered_at=NOW)
    db.session.flush()
    sender = CollectingSender()
    counts = jobs.deliver_pending(sender=sender, now=NOW)
    assert (counts.delivered, counts.failed, counts.abandoned) == (5, 0, 0)
    assert sender.sent == ids and already.id not in sender.sent
    assert all(state == (NOW, 0) for state in _state(ids).values())
    again = jobs.deliver_pending(sender=sender, now=NOW)
    assert (again.delivered, again.failed) == (0, 0) and sender.sent == ids


def test_deliver_pending_respects_the_limit(app_ctx):
    user = UserFactory()
    ids = [n.id for n in notices_for(user, 5)]
    sender = CollectingSender()
    assert jobs.deliver_pending(sender=sender, limit=3, now=NOW).delivered == 3
    assert jobs.deliver_pending(sender=sender, limit=3, now=NOW).delivered == 2
    assert sender.sent == ids


def test_failures_are_isolated_and_retried_until_max_attempts(app, app_ctx):
    user = UserFactory()
    ids = [n.id for n in notices_for(user, 3)]
    flaky = CollectingSender(failing={ids[1]})
    first = jobs.deliver_pending(sender=flaky, now=NOW)
    assert (first.delivered, first.failed, first.abandoned) == (2, 1, 0)
    state = _state(ids)
    assert state[ids[0]] == (NOW, 0) and state[ids[2]] == (NOW, 0)
    assert state[ids[1]] == (None, 1)
    # The failed notice is retried on every run until NOTIFICATION_MAX_ATTEMPTS, then left alone.
    max_attempts = app.config["NOTIFICATION_MAX_ATTEMPTS"]
    for _ in range(max_attempts - 2):
        assert jobs.deliver_pending(sender=flaky, now=NOW).failed == 1
    last = jobs.deliver_pending(sender=flaky, now=NOW)
    assert (last.failed, last.abandoned) == (1, 1)
    assert _state([ids[1]])[ids[1]] == (None, max_attempts)
    assert jobs.deliver_pending(sender=CollectingSender(), now=NOW).handled == 0


def test_a_failure_can_recover_on_the_next_run(app_ctx):
    notice = NotificationFactory(user_id=UserFactory().id)
    db.session.flush()
    assert jobs.deliver_pending(sender=CollectingSender(failing={notice.id}), now=NOW).failed == 1
    recovered = CollectingSender()
    assert jobs.deliver_pending(sender=recovered, now=NOW).delivered == 1
    assert recovered.sent == [notice.id] and _state([notice.id])[notice.id] == (NOW, 1)


@pytest.mark.committing
def test_two_concurrent_runs_deliver_each_notice_exactly_once(app, monkeypatch):
    """Two scheduler replicas at once: SKIP LOCKED (PostgreSQL) or the write lock (SQLite) splits the work."""
    monkeypatch.setattr(jobs, "BATCH_SIZE", 10)  # many batches, so the replicas interleave
    with app.app_context():
        users = [UserFactory(), UserFactory()]
        db.session.flush()
        notices = [NotificationFactory(user_id=users[i % 2].id) for i in range(60)]
        db.session.commit()
        ids = [n.id for n in notices]
        user_ids = [u.id for u in users]
    sender = CollectingSender(delay=0.002)
    results, errors = [], []
    start = threading.Barrier(2)

    def replica():
        try:
            with app.app_context():
                start.wait()
                results.append(jobs.deliver_pending(sender=sender, now=utcnow()))
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
        assert sorted(sender.sent) == sorted(ids)
        assert sum(r.delivered for r in results) == len(ids)
        with app.app_context():
            assert all(delivered is not None and attempts == 0 for delivered, attempts in _state(ids).values())
    finally:
        with app.app_context():
            from service_app.auth.models import User

            db.session.execute(delete(Notification).where(Notification.user_id.in_(user_ids)))
            db.session.execute(delete(User).where(User.id.in_(user_ids)))
            db.session.commit()


# --- the configured sender --------------------------------------------------------------------------


def test_default_sender_is_the_recording_sender(app):
    with app.app_context():
        assert isinstance(senders.current_sender(), RecordingSender)


def test_sender_path_is_loaded_and_checked_at_start_up(database_url):
    from tests.conftest import make_app

    custom = make_app(database_url, PUSH_SENDER="tests.test_notifications:CollectingSender")
    assert isinstance(custom.extensions["push_sender"], CollectingSender)
    for bad, message in [
        ("tests.test_notifications.CollectingSender", "package.module:Class"),
        ("tests.no_such_module:Sender", "cannot import"),
        ("tests.test_notifications:NoSuchSender", "no class 'NoSuchSender'"),
        ("tests.test_notifications:_state", "no class '_state'"),
        ("tests.test_notifications:NotASender", "no send(notice) method"),
        ("tests.test_notifications:NeedsSettings", "NeedsSettings() failed"),
    ]:
        with pytest.raises(senders.SenderConfigError, match="PUSH_SENDER") as error:
            make_app(database_url, PUSH_SENDER=bad)
        assert message in str(error.value)


def test_notices_are_rendered_in_the_readers_language(client, app_ctx):
    me = UserFactory()
    notice = NotificationFactory(user_id=me.id, kind="accepted", params={"code": "WT1", "title": "园区路灯不亮"})
    headers = auth_headers(client, me)
    chinese = client.get(URL, headers=headers).get_json()["items"][0]
    english = client.get(URL, headers={**headers, "Accept-Language": "en-US,en;q=0.9"}).get_json()["items"][0]
    assert (chinese["title"], chinese["body"]) == ("您反映的问题已受理", "园区路灯不亮（WT1）")
    assert (english["title"], english["body"]) == ("Your problem has been accepted", "园区路灯不亮 (WT1)")
    assert chinese["data"] == english["data"] == notice.params
