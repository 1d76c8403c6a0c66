"""The one error shape, for every kind of failure, in Chinese and in English."""

from __future__ import annotations

from tests.factories import AdminFactory
from tests.helpers import assert_error, auth_headers


def test_health(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_readiness_checks_database(client):
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 200


def test_request_id_is_echoed(client):
    response = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_unknown_route_is_404_json(client):
    body = assert_error(client.get("/api/v1/nope"), 404, "not_found")
    assert body["message"] == "资源不存在"


def test_wrong_method_is_405_json(client):
    response = client.delete("/api/v1/health")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_english_with_accept_language(client):
    body = assert_error(client.get("/api/v1/nope", headers={"Accept-Language": "en-US,en;q=0.9"}), 404)
    assert body["message"] == "Not found"


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    body = assert_error(response, 400, "invalid_json")
    assert body["message"] == "请求体不是有效的 JSON"


def test_wrong_content_type_is_415(client):
    response = client.post(
        "/api/v1/auth/login", data="username=a&password=b", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_body_too_large_is_413(client, app):
    big = '{"username": "' + "a" * (app.config["MAX_JSON_BYTES"] + 10) + '"}'
    assert_error(client.post("/api/v1/auth/login", data=big, content_type="application/json"), 413)


def test_upload_over_limit_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"], saved = 100, app.config["MAX_CONTENT_LENGTH"]
    try:
        response = client.post("/api/v1/auth/login", data="x" * 500, content_type="application/json")
        assert_error(response, 413)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved


def test_validation_names_each_field_in_chinese(client):
    response = client.post("/api/v1/auth/login", json={"username": ""})
    body = assert_error(response, 422, "validation_failed")
    assert set(body["errors"]) == {"username", "password"}
    assert body["errors"]["password"] == ["必填字段"]


def test_validation_in_english(client):
    response = client.post("/api/v1/auth/login", json={}, headers={"Accept-Language": "en"})
    body = assert_error(response, 422)
    assert body["errors"]["password"] == ["Missing data for required field."]


def test_unknown_fields_are_rejected(client):
    response = client.post("/api/v1/auth/login", json={"username": "a", "password": "b", "role": "admin"})
    body = assert_error(response, 422)
    assert body["errors"] == {"role": ["不允许的字段"]}


def test_json_body_must_be_an_object(client):
    assert_error(client.post("/api/v1/auth/login", json=["a", "b"]), 422)


def test_missing_token_is_401(client):
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_wrong_role_is_403(client, app_ctx):
    from tests.factories import CadreFactory

    cadre = CadreFactory()
    assert_error(client.get("/api/v1/users", headers=auth_headers(client, cadre)), 403, "forbidden")


def test_unexpected_error_is_500_without_traceback(database_url):
    from tests.conftest import make_app

    fresh = make_app(database_url)

    def boom():
        raise RuntimeError("secret internals")

    fresh.add_url_rule("/api/v1/_boom_for_test", "boom_for_test", boom)
    response = fresh.test_client().get("/api/v1/_boom_for_test")
    body = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert body["message"] == "服务器内部错误"


def test_integer_path_rejects_garbage(client, app_ctx):
    admin = AdminFactory()
    assert_error(client.get("/api/v1/users/abc", headers=auth_headers(client, admin)), 404)


def test_openapi_document_and_swagger_ui(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    document = spec.get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Error" in document["components"]["schemas"]
    ui = client.get("/api/docs")
    assert ui.status_code == 200 and b"swagger-ui" in ui.data
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
