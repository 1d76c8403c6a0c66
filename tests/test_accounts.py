"""Accounts people manage themselves, through HTTP: changing the password, the password policy,
PATCH /me, and accounts that must change an admin-set password before anything else."""

from __future__ import annotations

import pytest

from service_app.auth.models import User
from service_app.auth.policy import DEMO_PASSWORD
from service_app.extensions import db
from tests.factories import PASSWORD, AdminFactory, CadreFactory, EnterpriseFactory, UserFactory
from tests.helpers import assert_error, auth_headers, login

NEW_PASSWORD = "Lianqi@2026new"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def change(client, token: str, current: str, new: str, *, language: str = "zh"):
    headers = {**bearer(token), "Accept-Language": language}
    return client.post("/api/v1/me/password", json={"current_password": current, "new_password": new}, headers=headers)


# --- POST /me/password -----------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions_only(client, app_ctx):
    UserFactory(username="owner1")
    phone, tablet = login(client, "owner1"), login(client, "owner1")
    assert change(client, phone["access_token"], PASSWORD, NEW_PASSWORD).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(phone["access_token"])).status_code == 200
    assert_error(client.get("/api/v1/me", headers=bearer(tablet["access_token"])), 401, "token_revoked")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(tablet["refresh_token"])), 401)
    assert_error(client.post("/api/v1/auth/login", json={"username": "owner1", "password": PASSWORD}), 401)
    assert login(client, "owner1", NEW_PASSWORD)["password_change_required"] is False


def test_wrong_current_password_is_422_naming_it_and_counts_as_a_failed_login(client, app_ctx):
    UserFactory(username="owner2")
    token = login(client, "owner2")["access_token"]
    for _ in range(5):
        body = assert_error(change(client, token, "not-my-password1", NEW_PASSWORD), 422, "validation_failed")
        assert list(body["errors"]) == ["current_password"]
    # The (username, address) pair has used its failed logins: the password form and the login are refused.
    assert_error(change(client, token, PASSWORD, NEW_PASSWORD), 429, "too_many_requests")
    assert_error(client.post("/api/v1/auth/login", json={"username": "owner2", "password": PASSWORD}), 429)


@pytest.mark.parametrize(
    "new_password,rule",
    [
        ("Ab1", "too_short"),
        ("onlyletters", "letters_and_digits"),
        ("1234567890", "letters_and_digits"),
        ("Policy2026", "same_as_username"),
        ("Password123", "common"),
        ("1qaz2WSX", "common"),
    ],
)
def test_a_weak_new_password_is_422_naming_the_rule(client, app_ctx, new_password, rule):
    UserFactory(username="policy2026")
    token = login(client, "policy2026")["access_token"]
    body = assert_error(change(client, token, PASSWORD, new_password), 422)
    assert list(body["errors"]) == ["new_password"] and body["password_rule"] == rule
    english = assert_error(change(client, token, PASSWORD, new_password, language="en"), 422)
    assert english["errors"]["new_password"] != body["errors"]["new_password"]


def test_other_characters_are_welcome(client, app_ctx):
    UserFactory(username="owner3")
    token = login(client, "owner3")["access_token"]
    assert change(client, token, PASSWORD, "株洲 tianyuan 2026!").status_code == 204


def test_the_demo_password_is_refused_only_in_production(client, app, app_ctx, monkeypatch):
    UserFactory(username="owner4")
    token = login(client, "owner4")["access_token"]
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    assert assert_error(change(client, token, PASSWORD, DEMO_PASSWORD), 422)["password_rule"] == "demo_password"
    monkeypatch.setitem(app.config, "APP_ENV", "development")
    assert change(client, token, PASSWORD, DEMO_PASSWORD).status_code == 204


def test_the_policy_knows_the_demo_data_set_password():
    import seeds.demo

    assert seeds.demo.DEMO_PASSWORD == DEMO_PASSWORD


def test_the_new_password_must_differ_from_the_current_one(client, app_ctx):
    UserFactory(username="owner5")
    token = login(client, "owner5")["access_token"]
    assert assert_error(change(client, token, PASSWORD, PASSWORD), 422)["password_rule"] == "same_as_current"


# --- PATCH /me ---------------------------------------------------------------------------------


def test_patch_me_changes_name_and_phone(client, app_ctx):
    cadre = CadreFactory()
    headers = auth_headers(client, cadre)
    response = client.patch("/api/v1/me", json={"name": "李娜", "phone": "13912345678"}, headers=headers)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in ("name", "phone")} == {"name": "李娜", "phone": "13912345678"}
    assert client.get("/api/v1/me", headers=headers).get_json()["phone"] == "13912345678"
    assert client.patch("/api/v1/me", json={"phone": None}, headers=headers).get_json()["phone"] is None
    assert client.get("/api/v1/me", headers=headers).get_json()["name"] == "李娜"


def test_patch_me_refuses_a_taken_phone_other_fields_and_non_mobile_numbers(client, app_ctx):
    UserFactory(phone="13911112222")
    headers = auth_headers(client, CadreFactory())
    body = assert_error(client.patch("/api/v1/me", json={"phone": "13911112222"}, headers=headers), 409, "phone_taken")
    assert list(body["errors"]) == ["phone"]
    for bad in ({"role": "admin"}, {"phone": "0731-28680001"}, {"phone": "12345678901"}, {"name": ""}):
        assert set(assert_error(client.patch("/api/v1/me", json=bad, headers=headers), 422)["errors"]) == set(bad)


def test_admin_cannot_give_two_accounts_one_phone(client, app_ctx):
    UserFactory(phone="13922223333")
    headers = auth_headers(client, AdminFactory())
    body = {"username": "samephone", "password": "Strong@123", "name": "x", "role": "manager", "phone": "13922223333"}
    assert_error(client.post("/api/v1/users", json=body, headers=headers), 409, "phone_taken")


# --- must change password ---------------------------------------------------------------------


def test_an_account_an_admin_creates_must_change_its_password_first(client, app_ctx):
    enterprise = EnterpriseFactory()
    admin_headers = auth_headers(client, AdminFactory())
    body = {
        "username": "newent2",
        "password": "Given@2026",
        "name": "新企业",
        "role": "enterprise",
        "enterprise_id": enterprise.id,
    }
    assert client.post("/api/v1/users", json=body, headers=admin_headers).status_code == 201
    tokens = login(client, "newent2", "Given@2026")
    assert tokens["password_change_required"] is True and tokens["user"]["must_change_password"] is True
    token = tokens["access_token"]
    assert_error(client.get("/api/v1/problems", headers=bearer(token)), 403, "password_change_required")
    assert_error(
        client.get(f"/api/v1/enterprises/{enterprise.id}", headers=bearer(token)), 403, "password_change_required"
    )
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert change(client, token, "Given@2026", NEW_PASSWORD).status_code == 204
    assert client.get("/api/v1/problems", headers=bearer(token)).status_code == 200
    assert login(client, "newent2", NEW_PASSWORD)["password_change_required"] is False


def test_an_admin_reset_sets_must_change_and_demo_style_accounts_are_free(client, app_ctx):
    user = UserFactory(username="resetme")
    assert login(client, "resetme")["password_change_required"] is False
    admin_headers = auth_headers(client, AdminFactory())
    assert (
        client.patch(f"/api/v1/users/{user.id}", json={"password": "Reset@2026"}, headers=admin_headers).status_code
        == 200
    )
    tokens = login(client, "resetme", "Reset@2026")
    assert tokens["password_change_required"] is True
    refreshed = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200 and refreshed.get_json()["password_change_required"] is True


# Endpoints that need no token at all, and those a must-change account may call (DESIGN §15).
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/health/ready"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/sms-code"),
    ("POST", "/api/v1/auth/login/sms"),
    ("POST", "/api/v1/auth/password/reset"),
}
ALLOWED_BEFORE_CHANGE = {
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
}


def _allowed_before_change(method: str, rule: str) -> bool:
    return (method, rule) in ALLOWED_BEFORE_CHANGE or rule.startswith("/api/v1/me/devices")


def _routes(app) -> list[tuple[str, str]]:
    from tests.test_authz_matrix import _concrete

    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            routes += [
                (method, rule.rule, _concrete(rule.rule)) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
            ]
    return sorted(routes, key=lambda route: route[1] == "/api/v1/auth/logout")  # logout last: it ends the session


def test_must_change_account_can_do_nothing_else_walking_the_route_table(client, app, app_ctx):
    user = UserFactory(username="walker", must_change_password=True)
    tokens = login(client, "walker")
    refused, allowed = 0, 0
    for method, rule, url in _routes(app):
        if (method, rule) in PUBLIC:
            continue
        token = tokens["refresh_token"] if rule == "/api/v1/auth/refresh" else tokens["access_token"]
        response = client.open(url, method=method, headers=bearer(token))
        body = response.get_json(silent=True) or {}
        if _allowed_before_change(method, rule):
            assert body.get("error_code") != "password_change_required", (method, rule, response.status_code)
            assert response.status_code < 500, (method, rule)
            allowed += 1
        else:
            assert response.status_code == 403 and body["error_code"] == "password_change_required", (
                method,
                rule,
                body,
            )
            refused += 1
        if rule == "/api/v1/auth/refresh":
            tokens = response.get_json()
    assert allowed == len(ALLOWED_BEFORE_CHANGE) and refused > 50
    assert {(m, r) for m, r, _ in _routes(app)} >= PUBLIC
    assert db.session.get(User, user.id).must_change_password is True
