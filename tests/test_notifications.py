"""In-app notices: the caller's own list and read state (push delivery: test_push_delivery.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service_app.extensions import db
from service_app.notifications.models import Notification
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


def test_notices_are_rendered_in_the_readers_language(client, app_ctx):
    me = UserFactory()
    notice = NotificationFactory(user_id=me.id, kind="accepted", params={"code": "WT1", "title": "园区路灯不亮"})
    headers = auth_headers(client, me)
    chinese = client.get(URL, headers=headers).get_json()["items"][0]
    english = client.get(URL, headers={**headers, "Accept-Language": "en-US,en;q=0.9"}).get_json()["items"][0]
    assert (chinese["title"], chinese["body"]) == ("您反映的问题已受理", "园区路灯不亮（WT1）")
    assert (english["title"], english["body"]) == ("Your problem has been accepted", "园区路灯不亮 (WT1)")
    assert chinese["data"] == english["data"] == notice.params
