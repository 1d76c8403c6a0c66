"""Login, refresh rotation, logout revocation, disabled users and hostile tokens."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy.orm.util import identity_key

from service_app.auth import service
from service_app.auth.models import AuthSession, User
from service_app.extensions import db
from tests.conftest import count_queries
from tests.factories import PASSWORD, AdminFactory, CadreFactory, EnterpriseUserFactory, UserFactory
from tests.helpers import assert_error, auth_headers, login


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_the_contract(client, app_ctx):
    user = EnterpriseUserFactory(username="ent900")
    body = login(client, "ent900")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["username"] == "ent900"
    assert body["user"]["role"] == "enterprise"
    assert body["user"]["enterprise_id"] == user.enterprise_id
    assert "password_hash" not in json.dumps(body)
    claims = decode_token(body["access_token"])
    assert claims["role"] == "enterprise" and claims["sub"] == str(user.id)


def test_password_is_stored_as_argon2id(app_ctx):
    from service_app.auth.passwords import hash_password

    assert hash_password("Demo@2019").startswith("$argon2id$")


def test_username_is_case_insensitive(client, app_ctx):
    UserFactory(username="manager7")
    assert login(client, "Manager7")["user"]["username"] == "manager7"


@pytest.mark.parametrize("username,password", [("nobody", PASSWORD), ("known", "wrong-password")])
def test_bad_credentials_are_401_without_saying_which(client, app_ctx, username, password):
    UserFactory(username="known")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    body = assert_error(response, 401, "bad_credentials")
    assert body["message"] == "用户名或密码错误"


def test_me(client, app_ctx):
    cadre = CadreFactory(name="张伟")
    response = client.get("/api/v1/me", headers=auth_headers(client, cadre))
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("id", "username", "name", "role", "enterprise_id", "department_id")} == {
        "id": cadre.id,
        "username": cadre.username,
        "name": "张伟",
        "role": "cadre",
        "enterprise_id": None,
        "department_id": None,
    }


def test_refresh_rotates_and_old_refresh_token_stops_working(client, app_ctx):
    UserFactory(username="rot")
    first = login(client, "rot")
    second = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert second.status_code == 200
    pair = second.get_json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(pair["access_token"])).status_code == 200
    # The used refresh token is dead, and presenting it again ends the whole session.
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])), 401, "token_revoked")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(pair["refresh_token"])), 401)
    assert_error(client.get("/api/v1/me", headers=bearer(pair["access_token"])), 401)


def test_logout_revokes_access_and_refresh(client, app_ctx):
    UserFactory(username="bye")
    tokens = login(client, "bye")
    response = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 204
    assert_error(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "token_revoked")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)


def test_logout_leaves_other_sessions_alone(client, app_ctx):
    UserFactory(username="twodevices")
    phone, tablet = login(client, "twodevices"), login(client, "twodevices")
    client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"]))
    assert client.get("/api/v1/me", headers=bearer(tablet["access_token"])).status_code == 200


def test_disabled_user_tokens_stop_at_once(client, app_ctx):
    user = UserFactory(username="soonoff")
    tokens = login(client, "soonoff")
    admin_headers = auth_headers(client, AdminFactory())
    response = client.patch(f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin_headers)
    assert response.status_code == 200
    assert_error(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)
    assert_error(client.post("/api/v1/auth/login", json={"username": "soonoff", "password": PASSWORD}), 401)


def test_disabled_user_is_refused_even_before_sessions_are_revoked(client, app_ctx):
    user = UserFactory(username="flagonly")
    tokens = login(client, "flagonly")
    user.is_active = False
    db.session.flush()
    assert_error(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401)


def test_expired_token_is_401(client, app, app_ctx):
    UserFactory(username="late")
    tokens = login(client, "late")
    claims = decode_token(tokens["access_token"])
    expired = create_access_token(
        identity=claims["sub"],
        additional_claims={"role": claims["role"], "sid": claims["sid"]},
        expires_delta=timedelta(seconds=-1),
    )
    assert_error(client.get("/api/v1/me", headers=bearer(expired)), 401, "token_expired")


def test_token_is_decoded_once_per_request(client, app_ctx, monkeypatch):
    """flask-jwt-extended decodes a token unverified before verifying it; the service's manager skips that."""
    import jwt as pyjwt

    UserFactory(username="once")
    tokens = login(client, "once")
    decodes = []
    real = pyjwt.decode

    def counted(*args, **kwargs):
        decodes.append(kwargs.get("options") or {})
        return real(*args, **kwargs)

    headers_read = []
    real_header = pyjwt.get_unverified_header
    monkeypatch.setattr(pyjwt, "decode", counted)
    monkeypatch.setattr(pyjwt, "get_unverified_header", lambda token: headers_read.append(1) or real_header(token))
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert len(decodes) == 1 and decodes[0].get("verify_signature") is not False
    assert len(headers_read) == 1
    # Verified once per worker: the same token's next requests reuse its claims and header.
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert len(decodes) == 1 and len(headers_read) == 1


def test_a_verified_token_is_still_refused_once_it_expires(client, app, app_ctx):
    """The kept claims are checked for expiry at every use (here: claims kept as if verified earlier)."""
    UserFactory(username="keptlate")
    claims = decode_token(login(client, "keptlate")["access_token"])
    expired = create_access_token(
        identity=claims["sub"],
        additional_claims={"role": claims["role"], "sid": claims["sid"]},
        expires_delta=timedelta(seconds=-1),
    )
    app.extensions["verified_tokens"][expired] = (
        decode_token(expired, allow_expired=True), {"alg": "HS256", "typ": "JWT"}
    )
    assert_error(client.get("/api/v1/me", headers=bearer(expired)), 401, "token_expired")
    assert expired not in app.extensions["verified_tokens"]


def test_a_verified_token_is_refused_at_once_when_its_account_is_disabled(client, app_ctx):
    user = UserFactory(username="seenthenoff")
    token = login(client, "seenthenoff")["access_token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    user.is_active = False
    db.session.flush()
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_kept_claims_are_a_copy(client, app, app_ctx):
    """A caller changing the claims it was handed cannot change what the next request sees."""
    UserFactory(username="copied")
    token = login(client, "copied")["access_token"]
    decode_token(token)["role"] = "admin"
    assert decode_token(token)["role"] == "manager"
    assert app.extensions["verified_tokens"][token][0]["role"] == "manager"


def _stored_user(user_id: int) -> dict:
    users = User.__table__
    return db.session.connection().execute(sa.select(users).where(users.c.id == user_id)).one()._asdict()


def test_the_session_check_attaches_the_user_as_an_orm_load_would(client, app, app_ctx):
    """The session check reads a Core row and builds the user from it (`transactions.attach_row`:
    its dict filled, `make_transient_to_detached`, `Session.add`), bypassing the ORM's load. The
    user must be what that load gives, whatever the pinned SQLAlchemy does underneath: persistent,
    every column loaded with no history, the identity map's (a later `get` sends nothing), and a
    change to it flushed as an UPDATE of that column."""
    user = UserFactory(username="attached", name="甲")
    claims = decode_token(login(client, "attached")["access_token"])
    stored = _stored_user(user.id)
    db.session.expunge_all()  # a request's session starts empty
    with app.test_request_context("/api/v1/me"), count_queries(app) as statements:
        assert service.check_token(claims) is False
        loaded = service.loaded_user()
        state = sa.inspect(loaded)
        assert state.persistent and state.key == identity_key(User, user.id)
        assert not state.modified and not state.unloaded & set(stored)
        assert {key: getattr(loaded, key) for key in stored} == stored
        assert not any(state.attrs[key].history.has_changes() for key in stored)
        assert db.session.get(User, user.id) is loaded
    assert len(statements) == 1  # the session check only
    loaded.name = "乙"
    with count_queries(app, with_parameters=True) as statements:
        db.session.flush()
    assert len(statements) == 1 and statements[0][0].lstrip().upper().startswith("UPDATE USERS SET NAME")
    assert _stored_user(user.id)["name"] == "乙"
    db.session.expire(loaded)  # an expired user reloads as any other
    assert loaded.username == "attached"


def test_the_session_check_fills_the_user_the_session_already_holds(client, app, app_ctx):
    """As the ORM's load does: the instance in the identity map is the one returned, its expired
    columns filled from the row (no statement later to reload them)."""
    user = UserFactory(username="held")
    claims = decode_token(login(client, "held")["access_token"])
    db.session.expire(user)
    with app.test_request_context("/api/v1/me"), count_queries(app) as statements:
        assert service.check_token(claims) is False
        assert service.loaded_user() is user
        assert user.username == "held" and not sa.inspect(user).modified
    assert len(statements) == 1


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_tampered_token_is_401(client, app_ctx):
    UserFactory(username="tamper")
    token = login(client, "tamper")["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = f"{header}.{_b64(claims)}.{signature}"
    assert_error(client.get("/api/v1/me", headers=bearer(forged)), 401, "token_invalid")


def test_alg_none_is_401(client, app_ctx):
    UserFactory(username="nonealg")
    token = login(client, "nonealg")["access_token"]
    payload = token.split(".")[1]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    assert_error(client.get("/api/v1/me", headers=bearer(unsigned)), 401, "token_invalid")


def test_refresh_token_is_not_an_access_token(client, app_ctx):
    UserFactory(username="wrongtype")
    tokens = login(client, "wrongtype")
    assert_error(client.get("/api/v1/me", headers=bearer(tokens["refresh_token"])), 401, "token_invalid")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"])), 401, "token_invalid")


def test_garbage_authorization_header_is_401(client):
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.jwt"}), 401)
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401)


def test_token_of_a_deleted_session_is_401(client, app_ctx):
    UserFactory(username="purged")
    tokens = login(client, "purged")
    db.session.query(AuthSession).delete()
    db.session.flush()
    assert_error(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401)


def test_failed_logins_are_rate_limited_per_username(client, app_ctx):
    UserFactory(username="target")
    for _ in range(5):
        assert_error(client.post("/api/v1/auth/login", json={"username": "target", "password": "nope"}), 401)
    body = assert_error(
        client.post("/api/v1/auth/login", json={"username": "target", "password": PASSWORD}), 429, "too_many_requests"
    )
    assert body["message"] == "请求过于频繁，请稍后再试"


def test_successful_logins_do_not_count(client, app_ctx):
    UserFactory(username="busy")
    for _ in range(8):
        login(client, "busy")


def test_failed_logins_are_rate_limited_per_address(client, app_ctx):
    for number in range(20):
        client.post("/api/v1/auth/login", json={"username": f"spray{number}", "password": "x"})
    assert_error(client.post("/api/v1/auth/login", json={"username": "fresh-name", "password": "x"}), 429)


def test_app_refuses_to_start_in_production_without_secret(monkeypatch):
    from service_app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("JWT_SECRET_KEY", "short")
    with pytest.raises(RuntimeError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_purge_expired_sessions(client, app_ctx):
    from service_app.auth.service import purge_expired_sessions
    from service_app.common.time import utcnow

    UserFactory(username="old")
    login(client, "old")
    assert purge_expired_sessions(now=utcnow()) == 0
    assert purge_expired_sessions(now=utcnow() + timedelta(days=31)) >= 1
