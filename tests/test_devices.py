"""Devices: register (upsert by token), list, remove, and logout that removes this phone."""

from __future__ import annotations

from sqlalchemy import select

from service_app.auth.models import Device
from service_app.extensions import db
from tests.factories import CadreFactory, EnterpriseUserFactory
from tests.helpers import assert_error, auth_headers, login

URL = "/api/v1/me/devices"
PHONE = {
    "platform": "android", "provider": "jpush", "token": "1a0018970a8b1234", "app_version": "2.3.0", "locale": "en"
}


def test_register_answers_201_then_200_and_lists_own_devices(client, app_ctx):
    me = CadreFactory()
    headers = auth_headers(client, me)
    first = client.post(URL, json=PHONE, headers=headers)
    assert first.status_code == 201
    device = first.get_json()
    assert {k: device[k] for k in PHONE} == PHONE and device["is_active"] is True
    again = client.post(URL, json={**PHONE, "app_version": "2.4.0"}, headers=headers)
    assert again.status_code == 200
    assert again.get_json()["id"] == device["id"] and again.get_json()["app_version"] == "2.4.0"
    client.post(URL, json={"platform": "ios", "provider": "jpush", "token": "ios-token-1"}, headers=headers)
    listed = client.get(URL, headers=headers).get_json()
    assert [d["token"] for d in listed] == ["ios-token-1", PHONE["token"]]
    assert listed[0]["locale"] is None
    assert client.get(URL, headers=auth_headers(client, CadreFactory())).get_json() == []


def test_a_token_moves_to_the_user_who_registered_it_last(client, app_ctx):
    first, second = EnterpriseUserFactory(), CadreFactory()
    created = client.post(URL, json=PHONE, headers=auth_headers(client, first)).get_json()
    moved = client.post(URL, json=PHONE, headers=auth_headers(client, second))
    assert moved.status_code == 200 and moved.get_json()["id"] == created["id"]
    assert client.get(URL, headers=auth_headers(client, first)).get_json() == []
    assert db.session.scalar(select(Device.user_id).where(Device.token == PHONE["token"])) == second.id


def test_unknown_platform_or_provider_is_422_naming_the_field(client, app_ctx):
    headers = auth_headers(client, CadreFactory())
    for field, value in [("platform", "symbian"), ("provider", "carrier-pigeon")]:
        body = assert_error(client.post(URL, json={**PHONE, field: value}, headers=headers), 422)
        assert list(body["errors"]) == [field]
    # JPush serves phones, not browsers: a web device needs a Web Push provider.
    body = assert_error(client.post(URL, json={**PHONE, "platform": "web"}, headers=headers), 422)
    assert list(body["errors"]) == ["platform"]
    body = assert_error(client.post(URL, json={"platform": "ios"}, headers=headers), 422)
    assert set(body["errors"]) == {"provider", "token"}
    assert_error(client.post(URL, json={**PHONE, "locale": "not a locale!"}, headers=headers), 422)
    assert_error(client.post(URL, json={**PHONE, "locale": "zh-Hans-CN-x-private"}, headers=headers), 422)
    assert_error(client.post(URL, json=PHONE), 401)


def test_delete_own_device_and_404_for_anyone_elses(client, app_ctx):
    me, other = CadreFactory(), CadreFactory()
    mine = client.post(URL, json=PHONE, headers=auth_headers(client, me)).get_json()
    theirs = client.post(URL, json={**PHONE, "token": "other-phone"}, headers=auth_headers(client, other)).get_json()
    headers = auth_headers(client, me)
    assert_error(client.delete(f"{URL}/{theirs['id']}", headers=headers), 404)
    assert client.delete(f"{URL}/{mine['id']}", headers=headers).status_code == 204
    assert_error(client.delete(f"{URL}/{mine['id']}", headers=headers), 404)
    assert client.get(URL, headers=headers).get_json() == []
    assert db.session.get(Device, theirs["id"]) is not None


def test_logout_with_device_id_removes_that_device_only_if_it_is_the_callers(client, app_ctx):
    me, other = CadreFactory(), CadreFactory()
    theirs = client.post(URL, json={**PHONE, "token": "other-phone"}, headers=auth_headers(client, other)).get_json()
    tokens = login(client, me.username)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    mine = client.post(URL, json=PHONE, headers=headers).get_json()
    spare = client.post(URL, json={**PHONE, "token": "tablet"}, headers=headers).get_json()
    assert client.post("/api/v1/auth/logout", json={"device_id": mine["id"]}, headers=headers).status_code == 204
    assert db.session.get(Device, mine["id"]) is None and db.session.get(Device, spare["id"]) is not None
    assert_error(client.get(URL, headers=headers), 401)  # the session is revoked as well
    again = {"Authorization": f"Bearer {login(client, me.username)['access_token']}"}
    assert client.post("/api/v1/auth/logout", json={"device_id": theirs["id"]}, headers=again).status_code == 204
    assert db.session.get(Device, theirs["id"]) is not None
    plain = {"Authorization": f"Bearer {login(client, me.username)['access_token']}"}
    body = assert_error(client.post("/api/v1/auth/logout", json={"device_id": "x"}, headers=plain), 422)
    assert list(body["errors"]) == ["device_id"]
    assert client.post("/api/v1/auth/logout", headers=plain).status_code == 204


def test_an_account_that_must_change_its_password_may_still_manage_devices(client, app_ctx):
    me = CadreFactory(must_change_password=True)
    headers = auth_headers(client, me)
    assert_error(client.get("/api/v1/problems", headers=headers), 403, "password_change_required")
    device = client.post(URL, json=PHONE, headers=headers)
    assert device.status_code == 201
    assert [d["id"] for d in client.get(URL, headers=headers).get_json()] == [device.get_json()["id"]]
    assert client.delete(f"{URL}/{device.get_json()['id']}", headers=headers).status_code == 204
