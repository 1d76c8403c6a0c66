"""HTTP-level hardening (issue 16): size limits that hold for chunked bodies, authentication before
content negotiation, security headers on every kind of response, and the development secret."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import stat

import pytest
from flask import Blueprint

from service_app import config as config_module
from service_app.common import http
from tests.conftest import make_app
from tests.factories import PASSWORD, AdminFactory, EnterpriseUserFactory, UserFactory
from tests.factories_problems import make_world, problem_in
from tests.helpers import assert_error, auth_headers, login

LOGIN = "/api/v1/auth/login"


def _chunked(client, path: str, body: bytes, **kwargs):
    """A body sent as gunicorn hands a `Transfer-Encoding: chunked` request over: no length, a terminated stream."""
    return client.post(
        path, input_stream=io.BytesIO(body), content_type="application/json",
        headers={"Transfer-Encoding": "chunked", **kwargs.pop("headers", {})},
        environ_overrides={"wsgi.input_terminated": True}, **kwargs,
    )


# --- request size and content type ----------------------------------------------------------------


def test_chunked_json_over_the_cap_is_413(client, app):
    body = b'{"username": "' + b"a" * (app.config["MAX_JSON_BYTES"] + 1024) + b'", "password": "x"}'
    assert_error(_chunked(client, LOGIN, body), 413)


def test_chunked_json_within_the_cap_is_read(client, app_ctx):
    user = UserFactory()
    response = _chunked(client, LOGIN, json.dumps({"username": user.username, "password": PASSWORD}).encode())
    assert response.status_code == 200, response.get_json()


def test_chunked_json_over_the_cap_on_an_authenticated_endpoint_is_413(client, app, app_ctx):
    headers = auth_headers(client, AdminFactory())
    body = b'{"name": "' + b"a" * (app.config["MAX_JSON_BYTES"] + 1) + b'"}'
    assert_error(_chunked(client, "/api/v1/enterprises", body, headers=headers), 413)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/v1/attachments", "text/plain"), ("/api/v1/attachments", "application/json"),
     ("/api/v1/problems", "text/plain"), ("/api/v1/enterprises/import", "application/json"),
     ("/api/v1/users", "application/xml")],
)
def test_anonymous_callers_get_401_before_the_content_type_is_judged(client, path, content_type):
    assert_error(client.post(path, data=b"x" * 10, content_type=content_type), 401)


def test_authenticated_callers_with_the_wrong_content_type_get_415(client, app_ctx):
    headers = auth_headers(client, EnterpriseUserFactory())
    assert_error(client.post("/api/v1/attachments", data=b"x", content_type="text/plain", headers=headers), 415)
    assert_error(client.post("/api/v1/problems", data=b"x", content_type="text/plain", headers=headers), 415)


def test_public_endpoints_still_judge_the_content_type(client):
    assert_error(client.post(LOGIN, data=b"{}", content_type="text/plain"), 415)


# --- response headers -----------------------------------------------------------------------------


def test_authenticated_json_is_not_stored(client, app_ctx):
    headers = auth_headers(client, UserFactory())
    for path in ("/api/v1/me", "/api/v1/problems", "/api/v1/stats/summary", "/api/v1/nowhere"):
        response = client.get(path, headers=headers)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "default-src 'none'" in response.headers["Content-Security-Policy"], path


def test_tokens_and_errors_are_not_stored(client, app_ctx):
    user = UserFactory()
    response = client.post(LOGIN, json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert client.post(LOGIN, json={}).headers["Cache-Control"] == "no-store"


def test_resources_with_an_etag_are_private_and_revalidated(client, app_ctx):
    world = make_world()
    problem_id = problem_in(world, "submitted")
    headers = auth_headers(client, world.owner)
    response = client.get(f"/api/v1/problems/{problem_id}", headers=headers)
    assert response.headers["ETag"] and response.headers["Cache-Control"] == "private, no-cache"
    revalidation = {**headers, "If-None-Match": response.headers["ETag"]}
    cached = client.get(f"/api/v1/problems/{problem_id}", headers=revalidation)
    assert cached.status_code == 304 and cached.headers["Cache-Control"] == "private, no-cache"


def test_docs_page_has_a_csp_allowing_only_its_own_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    scripts = re.findall(rb"<script>(.*?)</script>", response.get_data(), re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0]).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"\"validatorUrl\": null" in scripts[0]
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").headers["X-Content-Type-Options"] == "nosniff"


def test_a_blueprint_may_set_its_own_policy(database_url, tmp_path):
    app = make_app(database_url, ATTACHMENT_DIR=str(tmp_path))
    pages = Blueprint("pages", __name__)

    @pages.route("/page")
    def page():
        return "<p>ok</p>"

    app.register_blueprint(pages)
    http.content_security_policy(app, blueprint="pages", policy="default-src 'self'")
    response = app.test_client().get("/page")
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_csv_exports_name_their_charset_once(client, app_ctx):
    admin = auth_headers(client, AdminFactory())
    manager = auth_headers(client, UserFactory())
    exports = (("/api/v1/enterprises/export?format=csv", admin), ("/api/v1/stats/export?format=csv", manager))
    for path, headers in exports:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", path
        assert response.headers["Cache-Control"] == "no-store", path


# --- the development secret ----------------------------------------------------------------------


def test_development_secret_is_random_private_and_kept(tmp_path):
    path = tmp_path / "instance" / "jwt-secret"
    first = config_module.development_secret(path)
    assert len(first) >= 48 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config_module.development_secret(path) == first
    assert config_module.development_secret(tmp_path / "other" / "jwt-secret") != first


def test_development_config_signs_with_the_kept_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setattr(config_module, "DEV_SECRET_FILE", tmp_path / "jwt-secret")
    assert config_module.from_environment()["JWT_SECRET_KEY"] == (tmp_path / "jwt-secret").read_text().strip()
    assert "JWT_SECRET_KEY" not in vars(config_module) and not hasattr(config_module, "DEV_JWT_SECRET")


def test_token_signed_by_another_checkout_is_refused(client, app_ctx, tmp_path):
    import jwt

    user = UserFactory()
    genuine = login(client, user.username)["access_token"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = jwt.encode(claims, config_module.development_secret(tmp_path / "elsewhere"), algorithm="HS256")
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {genuine}"}).status_code == 200
