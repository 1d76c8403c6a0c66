"""One JSON error shape for every error (DESIGN.md §5).

    {"code": 409, "status": "Conflict", "message": "…", "errors": {…}, "error_code": "invalid_transition"}

Services raise the domain exceptions below; HTTP-level failures (routing, body size, JSON syntax,
validation, JWT, rate limits) are mapped here too, so no caller ever sees Flask's HTML pages,
flask-jwt-extended's `{"msg": …}` or a traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from service_app.common.i18n import text, translate_errors

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of the domain exceptions: an HTTP status, a stable code and a user-facing message."""

    http_status: int = 400
    error_code: str = "bad_request"

    def __init__(
        self,
        message_key: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        zh: str | None = None,
        en: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message_key = message_key or self.error_code
        self.errors = errors
        self.extra = extra or {}
        self.zh, self.en = zh, en
        self.headers = headers or {}
        super().__init__(self.message_key)

    @property
    def message(self) -> str:
        return text(self.message_key, self.zh, self.en)


class BadRequest(AppError):
    http_status, error_code = 400, "bad_request"


class Unauthorized(AppError):
    http_status, error_code = 401, "unauthorized"


class Forbidden(AppError):
    http_status, error_code = 403, "forbidden"


class NotFound(AppError):
    http_status, error_code = 404, "not_found"


class Conflict(AppError):
    http_status, error_code = 409, "conflict"


class PreconditionFailed(AppError):
    http_status, error_code = 412, "precondition_failed"


class PayloadTooLarge(AppError):
    http_status, error_code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    http_status, error_code = 415, "unsupported_media_type"


class ValidationFailed(AppError):
    """422 naming each bad field: `errors={"field": ["message", …]}`."""

    http_status, error_code = 422, "validation_failed"


class TooManyRequests(AppError):
    http_status, error_code = 429, "too_many_requests"


class ServiceUnavailable(AppError):
    http_status, error_code = 503, "service_unavailable"


def error_body(
    status: int,
    message: str,
    *,
    error_code: str | None = None,
    errors: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "error_code": error_code or _DEFAULT_CODES.get(status, "error"),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def error_response(status: int, message_key: str, *, errors=None, extra=None, headers=None):
    response = jsonify(
        error_body(status, text(message_key), error_code=message_key, errors=errors, extra=extra)
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


_WEBARGS_LOCATIONS = {"json", "query", "form", "files", "headers", "path", "view_args", "querystring"}


def _flatten_webargs(messages: Any) -> Any:
    """webargs nests errors by location ({"json": {...}, "query": {...}}); clients want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [messages]}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if location in _WEBARGS_LOCATIONS and isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def handle_app_error(error: AppError):
    response = jsonify(
        error_body(
            error.http_status,
            error.message,
            error_code=error.error_code if error.message_key == error.error_code else error.message_key,
            errors=error.errors,
            extra=error.extra,
        )
    )
    response.status_code = error.http_status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    errors = None
    key = _DEFAULT_CODES.get(status, "bad_request")
    if status in (400, 422) and ("messages" in data or "errors" in data):
        raw = data.get("errors") or data.get("messages")
        flat = _flatten_webargs(raw)
        if status == 400 and _is_json_syntax_error(flat):
            key, errors = "invalid_json", None
        else:
            errors = translate_errors(flat)
            key = "validation_failed" if status == 422 else key
    elif status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status >= 500:
        log.error("http_error", extra={"status": status})
    return error_response(status, key, errors=errors, headers=headers)


def _is_json_syntax_error(flat: dict[str, Any]) -> bool:
    values = flat.get("_schema") or flat.get("json") or []
    return any("Invalid JSON" in str(value) for value in values)


def handle_database_unavailable(error: Exception):
    log.error("database_unavailable", extra={"error": type(error).__name__})
    return error_response(503, "service_unavailable", headers={"Retry-After": "5"})


def handle_out_of_range(error: Exception):
    """A value the schema let through but the database cannot hold: the caller's input, so 422."""
    log.warning("value_out_of_range", extra={"error": type(error).__name__})
    return error_response(422, "validation_failed")


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled_exception")
    return error_response(500, "internal_error")


def init_app(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(InterfaceError, handle_database_unavailable)
    app.register_error_handler(DataError, handle_out_of_range)
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(Exception, handle_unexpected)
