from __future__ import annotations

from tests.factories import CadreFactory, DepartmentFactory, EnterpriseFactory, UserFactory
from tests.helpers import assert_error, auth_headers, login


def test_admin_creates_an_enterprise_account_that_can_log_in(client, admin_headers):
    enterprise = EnterpriseFactory()
    response = client.post(
        "/api/v1/users",
        json={
            "username": "newent",
            "password": "Strong@123",
            "name": "新企业",
            "role": "enterprise",
            "enterprise_id": enterprise.id,
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.get_json()
    assert "password" not in response.get_json() and "password_hash" not in response.get_json()
    assert login(client, "newent", "Strong@123")["user"]["enterprise_id"] == enterprise.id


def test_role_bindings_are_checked(client, admin_headers):
    response = client.post(
        "/api/v1/users",
        json={"username": "bad", "password": "Strong@123", "name": "x", "role": "enterprise"},
        headers=admin_headers,
    )
    assert "enterprise_id" in assert_error(response, 422)["errors"]
    department = DepartmentFactory()
    response = client.post(
        "/api/v1/users",
        json={
            "username": "bad2",
            "password": "Strong@123",
            "name": "x",
            "role": "cadre",
            "department_id": department.id,
        },
        headers=admin_headers,
    )
    assert "department_id" in assert_error(response, 422)["errors"]


def test_weak_password_and_duplicate_username(client, admin_headers):
    UserFactory(username="taken")
    weak = client.post(
        "/api/v1/users",
        json={"username": "weak", "password": "12345678", "name": "x", "role": "manager"},
        headers=admin_headers,
    )
    assert "password" in assert_error(weak, 422)["errors"]
    dup = client.post(
        "/api/v1/users",
        json={"username": "taken", "password": "Strong@123", "name": "x", "role": "manager"},
        headers=admin_headers,
    )
    assert_error(dup, 409, "username_taken")


def test_list_users_paginates(client, admin_headers):
    for _ in range(5):
        CadreFactory()
    seen, cursor = [], None
    while True:
        url = "/api/v1/users?role=cadre&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin_headers).get_json()
        seen += [user["id"] for user in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def test_bad_cursor_is_422(client, admin_headers):
    assert "cursor" in assert_error(client.get("/api/v1/users?cursor=%%%", headers=admin_headers), 422)["errors"]


def test_missing_user_is_404(client, admin_headers):
    assert_error(client.get("/api/v1/users/999999", headers=admin_headers), 404)


def test_changing_password_ends_sessions(client, admin_headers, app_ctx):
    user = UserFactory(username="changeme")
    tokens = login(client, "changeme")
    client.patch(f"/api/v1/users/{user.id}", json={"password": "Another@456"}, headers=admin_headers)
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}), 401)
    assert login(client, "changeme", "Another@456")


def test_role_field_in_user_update_by_non_admin_is_forbidden(client, app_ctx):
    cadre = CadreFactory()
    response = client.patch(f"/api/v1/users/{cadre.id}", json={"role": "admin"}, headers=auth_headers(client, cadre))
    assert_error(response, 403)
