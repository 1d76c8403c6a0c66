"""Partner API clients: admins issue keys (shown once, stored hashed), list and revoke them."""

from __future__ import annotations

import pytest

from service_app.extensions import db
from service_app.open311.clients import hash_key
from service_app.open311.models import ApiClient
from tests.factories import AdminFactory, UserFactory
from tests.helpers import assert_error, auth_headers


@pytest.fixture
def admin_headers(client, app_ctx):
    return auth_headers(client, AdminFactory())


def _create(client, headers, **body):
    body = {"name": "12345-hotline", "scopes": ["read", "write"], **body}
    return client.post("/api/v1/api-clients", json=body, headers=headers)


def test_a_key_is_shown_once_and_stored_hashed(client, admin_headers, app):
    response = _create(client, admin_headers)
    assert response.status_code == 201
    issued = response.get_json()
    key = issued["api_key"]
    assert len(key) >= 40 and issued["key_prefix"] == key[:8] and issued["scopes"] == ["read", "write"]
    assert issued["rate_limit"] == app.config["OPEN311_CLIENT_RATE_LIMIT"] and issued["revoked_at"] is None
    stored = db.session.get(ApiClient, issued["id"])
    assert stored.key_hash == hash_key(key) and key not in (stored.key_hash, stored.scopes, stored.name)
    listed = client.get("/api/v1/api-clients", headers=admin_headers).get_json()
    assert [item["id"] for item in listed] == [issued["id"]] and "api_key" not in listed[0]
    assert client.get("/open311/v2/requests.json", query_string={"api_key": key}).status_code == 200


def test_revoking_stops_the_key_at_once_and_keeps_the_client(client, admin_headers):
    issued = _create(client, admin_headers, scopes=["read"]).get_json()
    assert client.delete(f"/api/v1/api-clients/{issued['id']}", headers=admin_headers).status_code == 204
    assert client.delete(f"/api/v1/api-clients/{issued['id']}", headers=admin_headers).status_code == 204
    assert client.get("/open311/v2/requests.json", query_string={"api_key": issued["api_key"]}).status_code == 403
    (listed,) = client.get("/api/v1/api-clients", headers=admin_headers).get_json()
    assert listed["revoked_at"] is not None
    assert_error(client.delete("/api/v1/api-clients/999999", headers=admin_headers), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"name": ""}, "name"),
        ({"name": "open311:x"}, "name"),
        ({"rate_limit": "lots"}, "rate_limit"),
        ({"api_key": "chosen"}, "api_key"),
    ],
)
def test_bad_client_definitions_are_422(client, admin_headers, body, field):
    body = assert_error(_create(client, admin_headers, **body), 422, "validation_failed")
    assert field in body["errors"]


def test_names_are_unique_even_after_revocation(client, admin_headers):
    first = _create(client, admin_headers).get_json()
    client.delete(f"/api/v1/api-clients/{first['id']}", headers=admin_headers)
    assert_error(_create(client, admin_headers), 409, "api_client_name_taken")


def test_only_admins_manage_clients(client, app_ctx):
    headers = auth_headers(client, UserFactory())  # a manager
    assert_error(_create(client, headers), 403)
    assert_error(client.get("/api/v1/api-clients", headers=headers), 403)
    assert_error(client.get("/api/v1/api-clients"), 401)
