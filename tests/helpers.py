"""Request helpers shared by route tests."""

from __future__ import annotations

from tests.factories import PASSWORD


def login(client, username: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def auth_headers(client, user, **extra) -> dict:
    """Bearer headers for a factory-made user."""
    tokens = login(client, user.username)
    return {"Authorization": f"Bearer {tokens['access_token']}", **extra}


def assert_error(response, status: int, error_code: str | None = None) -> dict:
    """The response is the one error shape with this status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    if error_code is not None:
        assert body["error_code"] == error_code, body
    return body
