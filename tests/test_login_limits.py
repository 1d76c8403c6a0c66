"""Login limits without lock-out (DESIGN §10): an attacker's wrong passwords from one address leave
the owner able to log in from another; an address spraying many usernames is stopped; a username
attacked from everywhere is slowed down, never refused."""

from __future__ import annotations

from service_app.auth import throttle
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_error

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


def attempt(client, username: str, password: str, address: str):
    return client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_wrong_passwords_from_one_address_leave_the_owner_free_elsewhere(client, app_ctx):
    UserFactory(username="ent499")
    for _ in range(5):
        assert_error(attempt(client, "ent499", "guess-1234", ATTACKER), 401, "bad_credentials")
    # The attacker's pair is exhausted: even the right password is refused from there ...
    response = attempt(client, "ent499", PASSWORD, ATTACKER)
    assert_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) >= 1
    # ... while the owner, from another address, logs in.
    assert attempt(client, "ent499", PASSWORD, OWNER).status_code == 200
    # And the attacker's address may still try another account (the per-address budget is larger).
    UserFactory(username="ent498")
    assert attempt(client, "ent498", PASSWORD, ATTACKER).status_code == 200


def test_one_address_spraying_many_usernames_is_stopped(client, app_ctx):
    UserFactory(username="sprayed")
    for number in range(20):
        assert_error(attempt(client, f"spray{number}", "x-guess-1", ATTACKER), 401)
    assert_error(attempt(client, "sprayed", PASSWORD, ATTACKER), 429)
    assert attempt(client, "sprayed", PASSWORD, OWNER).status_code == 200


def test_a_username_attacked_from_many_addresses_is_slowed_not_locked(client, app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_SLOWDOWN_SECONDS", 0.01)
    UserFactory(username="popular")
    assert throttle.login_delay(username="popular") == 0
    for number in range(10):  # LOGIN_SLOWDOWN_PER_USERNAME: 10 per 15 minutes
        assert_error(attempt(client, "popular", "guess-1234", f"192.0.2.{number + 1}"), 401)
    assert throttle.login_delay(username="popular") == 0.01
    assert attempt(client, "popular", PASSWORD, OWNER).status_code == 200
    assert throttle.login_delay(username="someone-else") == 0


def test_a_wrong_sms_code_counts_like_a_wrong_password(client, app_ctx):
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/login/sms",
            json={"phone": "13700000001", "code": "000000"},
            environ_base={"REMOTE_ADDR": ATTACKER},
        )
        assert_error(response, 401, "bad_sms_code")
    response = client.post(
        "/api/v1/auth/login/sms",
        json={"phone": "13700000001", "code": "000000"},
        environ_base={"REMOTE_ADDR": ATTACKER},
    )
    assert_error(response, 429)
