"""Request checks that apply to every endpoint: content type and body size."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from service_app.errors import AppError, PayloadTooLarge, UnsupportedMediaType

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Room for the multipart boundaries and part headers around a file of the maximum size.
MULTIPART_OVERHEAD = 64 * 1024


def accepts_multipart(view):
    """Mark a view that takes multipart/form-data (uploads, imports) instead of JSON."""
    view._accepts_multipart = True
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


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"


def check_request() -> None:
    if request.method not in _BODY_METHODS or not _has_body():
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    multipart = getattr(view, "_accepts_multipart", False) or getattr(
        getattr(view, "view_class", None), "_accepts_multipart", False
    )
    mimetype = request.mimetype
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
