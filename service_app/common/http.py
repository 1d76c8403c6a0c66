"""Request checks and response headers that apply to every endpoint.

Requests: the body's content type and size. The JSON cap holds for `Transfer-Encoding: chunked`
bodies too, which have no length to check up front: at most one byte past the cap is read.
A protected endpoint authenticates the caller before it judges the body (401 before 415/413).

Responses: `X-Content-Type-Options: nosniff` and a Content-Security-Policy on every one (a
blueprint may name its own, e.g. Swagger UI's or a dashboard's), frame protection, and for JSON
`Cache-Control: no-store` — `private, no-cache` when the resource has an ETag (DESIGN §15).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, current_app, request
from flask_jwt_extended import verify_jwt_in_request
from werkzeug.exceptions import RequestEntityTooLarge

from service_app.errors import AppError, PayloadTooLarge, UnsupportedMediaType

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Room for the multipart boundaries and part headers around a file of the maximum size.
MULTIPART_OVERHEAD = 64 * 1024
# Responses of the API itself are data, never a page to render or frame.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI: its own scripts and the one inline script of its page (by hash, added per response);
# swagger-ui styles elements inline.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' {inline}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def accepts_multipart(view):
    """Mark a view that takes multipart/form-data (uploads, imports) instead of JSON."""
    view._accepts_multipart = True
    return view


def accepts_form(view):
    """Mark a view that takes application/x-www-form-urlencoded (the Open311 spec's POST) instead of JSON."""
    view._accepts_form = True
    return view


def upload_size_limit(setting: str, too_large: Callable[[int], AppError]) -> Callable:
    """Size a multipart request for the file limit `config[setting]` plus its framing.

    A body beyond it, declared or streamed (chunked), is refused while the form is parsed and
    answers `too_large(limit)`: the same 413 as a file found too large by the service.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            limit = current_app.config[setting]
            request.max_content_length = limit + MULTIPART_OVERHEAD
            try:
                return view(*args, **kwargs)
            except RequestEntityTooLarge:
                raise too_large(limit) from None

        return wrapper

    return decorator


def content_security_policy(app: Flask, *, blueprint: str, policy: str) -> None:
    """Give the pages of one blueprint their own Content-Security-Policy (the default is DEFAULT_CSP).

    A view may also set the header itself; these headers only fill in what a response lacks.
    """
    app.extensions.setdefault("content_security_policies", {})[blueprint] = policy


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"


def _view_attribute(view, name: str):
    """An attribute set by a decorator on the view function, or on the method of a MethodView."""
    found = getattr(view, name, None)
    view_class = getattr(view, "view_class", None)
    if found is None and view_class is not None:
        found = getattr(view_class, name, None)
        if found is None:
            found = getattr(getattr(view_class, request.method.lower(), None), name, None)
    return found


def check_request() -> None:
    if request.method not in _BODY_METHODS or not _has_body():
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    mimetype = request.mimetype
    if _view_attribute(view, "_accepts_multipart"):
        if mimetype != "multipart/form-data":
            _refuse(view, UnsupportedMediaType())
        return
    if _view_attribute(view, "_accepts_form"):
        # The Open311 spec's POST is a form; it gets the JSON body's size cap.
        if mimetype != "application/x-www-form-urlencoded":
            _refuse(view, UnsupportedMediaType())
    elif not (mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        _refuse(view, UnsupportedMediaType())
    limit = min(current_app.config["MAX_JSON_BYTES"], current_app.config.get("MAX_CONTENT_LENGTH") or sys.maxsize)
    if request.content_length is None:
        # A chunked body announces no length: read one byte past the cap (werkzeug cuts a stream
        # at the request's limit without saying so) and keep what was read for the parsers.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            _refuse(view, PayloadTooLarge())
    elif request.content_length > limit:
        _refuse(view, PayloadTooLarge())


def _refuse(view, error: Exception) -> None:
    """Refuse the body, after authenticating the caller of a protected endpoint: an anonymous
    caller learns that it must log in, not what the endpoint accepts."""
    if _view_attribute(view, "_roles") is not None:
        verify_jwt_in_request()
    raise error


def json_body_or_none():
    """The request's JSON document, or None when it is absent or unparseable (never raises)."""
    if not request.is_json:
        return None
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if "Content-Security-Policy" not in headers:
        policies = current_app.extensions.get("content_security_policies", {})
        headers["Content-Security-Policy"] = policies.get(request.blueprint, DEFAULT_CSP)
    if response.mimetype == "text/html":
        headers.setdefault("X-Frame-Options", "DENY")
    authenticated = "Authorization" in request.headers
    cache = headers.get("Cache-Control")
    if cache is None or (authenticated and "private" not in cache and "no-store" not in cache):
        if "ETag" in headers:
            headers["Cache-Control"] = "private, no-cache"
        elif authenticated or response.is_json:
            headers["Cache-Control"] = "no-store"
    return response


def docs_security_headers(response: Response) -> Response:
    """Swagger UI's page: its inline start-up script is allowed by its hash, nothing else inline."""
    if response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = [
            "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
            for script in _INLINE_SCRIPT.findall(response.get_data())
        ]
        response.headers["Content-Security-Policy"] = DOCS_CSP.format(inline=" ".join(hashes))
    else:
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP.format(inline=""))
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(security_headers)
    # flask-smorest's documentation blueprint is registered by then; its pages get their own policy.
    app.after_request_funcs.setdefault("api-docs", []).append(docs_security_headers)
