"""Bad input catalogue: whatever arrives, the answer is a clear 4xx in the one shape, never a 500."""

from __future__ import annotations

import pytest

from service_app.auth.models import Role
from tests.factories import AdminFactory, UserFactory, new_credit_code
from tests.helpers import assert_error, auth_headers

LOGIN = "/api/v1/auth/login"


@pytest.mark.parametrize(
    "body,status",
    [
        ("[" * 50000 + "]" * 50000, 400),  # deep nesting within the size limit: RecursionError in json
        ('{"a":' * 20000 + "1" + "}" * 20000, 400),
        ('{"username": 1' + "0" * 5000 + ', "password": "x"}', 400),  # > 4300 digits: ValueError in int()
        (b'{"username": "\xff\xfe", "password": "x"}', 400),  # invalid UTF-8
        ('{"username": "a", "password": "b"', 400),  # truncated
        ("", 422),  # empty JSON body: the fields are missing
        ('{"username": NaN, "password": "x"}', 422),
        ('{"username": ["a"], "password": {"x": 1}}', 422),
        ('"just a string"', 422),
        ("null", 422),
    ],
)
def test_malformed_login_bodies(client, body, status):
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert_error(response, status)


def test_deep_nesting_with_idempotency_key_is_not_a_500(client, app_ctx):
    headers = auth_headers(client, AdminFactory())
    response = client.post(
        "/api/v1/users",
        data="[" * 50000 + "]" * 50000,
        content_type="application/json",
        headers={**headers, "Idempotency-Key": "x1"},
    )
    assert_error(response, 400)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
)
def test_wrong_content_types(client, content_type):
    assert_error(client.post(LOGIN, data='{"username": "a", "password": "b"}', content_type=content_type), 415)


@pytest.mark.parametrize(
    "text",
    [
        "Robert'); DROP TABLE enterprises;--",
        "<script>alert('x')</script>",
        "株洲🚀新材料有限公司 — Ünïcödé ملف עברית",
        "' OR '1'='1",
        "\u202egnirts edirrevo idib",
    ],
)
def test_hostile_strings_are_stored_and_returned_literally(client, app_ctx, text):
    headers = auth_headers(client, AdminFactory())
    response = client.post(
        "/api/v1/enterprises", json={"name": text, "credit_code": new_credit_code(), "address": text}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    fetched = client.get(f"/api/v1/enterprises/{created['id']}", headers=headers).get_json()
    assert fetched["name"] == text.strip() and fetched["address"] == text.strip()
    found = client.get("/api/v1/enterprises", query_string={"q": text[:20]}, headers=headers)
    assert found.status_code == 200


def test_nul_characters_are_refused_not_crashing(client, app_ctx):
    headers = auth_headers(client, AdminFactory())
    response = client.post(
        "/api/v1/enterprises", json={"name": "含\u0000空字符", "credit_code": new_credit_code()}, headers=headers
    )
    assert assert_error(response, 422)["errors"] == {"name": ["不能包含空字符（NUL）"]}


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"lat": 1e308, "lng": 0}, "lat"),
        ({"lat": 0, "lng": -1e308}, "lng"),
        ({"lat": "NaN", "lng": 0}, "lat"),
        ({"lat": "Infinity", "lng": 0}, "lat"),
        ({"established_on": "2019-02-30"}, "established_on"),
        ({"established_on": "99999-01-01"}, "established_on"),
        ({"park_id": 2**63}, "park_id"),
        ({"park_id": -1}, "park_id"),
    ],
)
def test_out_of_range_numbers_and_dates(client, app_ctx, payload, field):
    headers = auth_headers(client, AdminFactory())
    response = client.post(
        "/api/v1/enterprises",
        json={"name": "范围测试企业", "credit_code": new_credit_code(), **payload},
        headers=headers,
    )
    assert field in assert_error(response, 422)["errors"]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-5", "limit=1000000", "limit=abc", "limit=99999999999999999999999", "cursor=" + "A" * 600],
)
def test_absurd_page_sizes_and_cursors(client, app_ctx, query):
    headers = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    assert_error(client.get(f"/api/v1/enterprises?{query}", headers=headers), 422)


def test_page_size_is_capped(client, app, app_ctx):
    headers = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    response = client.get("/api/v1/enterprises?limit=1000", headers=headers)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) <= app.config["PAGE_SIZE_MAX"]


def test_huge_header_and_path(client):
    assert_error(client.get("/api/v1/" + "a" * 10000), 404)
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer " + "a" * 20000}), 401)


def test_huge_ids_in_paths_are_404(client, app_ctx):
    headers = auth_headers(client, AdminFactory())
    assert_error(client.get("/api/v1/users/99999999999999999999", headers=headers), 404)
    assert_error(client.get("/api/v1/enterprises/2147483648", headers=headers), 404)
