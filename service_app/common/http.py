"""Request checks that apply to every endpoint: content type and body size."""

from __future__ import annotations

import json

from flask import Flask, current_app, request

from service_app.errors import PayloadTooLarge, UnsupportedMediaType

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def accepts_multipart(view):
    """Mark a view that takes multipart/form-data (uploads, imports) instead of JSON."""
    view._accepts_multipart = True
    return view


def accepts_form(view):
    """Mark a view that takes application/x-www-form-urlencoded (the Open311 spec's POST) instead of JSON."""
    view._accepts_form = True
    return view


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"


def check_request() -> None:
    if request.method not in _BODY_METHODS or not _has_body():
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    multipart = getattr(view, "_accepts_multipart", False) or getattr(getattr(view, "view_class", None), "_accepts_multipart", False)
    mimetype = request.mimetype
    if getattr(view, "_accepts_form", False):
        if mimetype != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType()
        if (request.content_length or 0) > current_app.config["MAX_JSON_BYTES"]:
            raise PayloadTooLarge()
        return
    if multipart:
        if mimetype != "multipart/form-data":
            raise UnsupportedMediaType()
        return
    if not (mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        raise UnsupportedMediaType()
    if (request.content_length or 0) > current_app.config["MAX_JSON_BYTES"]:
        raise PayloadTooLarge()


def json_body_or_none():
    """The request's JSON document, or None when it is absent or unparseable (never raises)."""
    if not request.is_json:
        return None
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None


def init_app(app: Flask) -> None:
    app.before_request(check_request)
