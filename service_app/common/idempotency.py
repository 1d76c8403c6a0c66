"""`Idempotency-Key` on create requests (DESIGN.md §4, mobile-client conventions).

The same key and body from the same user replays the first response; the same key with another
body (or endpoint) is 422; keys live IDEMPOTENCY_TTL_HOURS (24 h).

The key row is added to the session before the view runs, so the service's single commit stores
the creation and the key together: a retry can never create a second object. The response is
recorded right after; a retry that arrives in between answers 409 (in progress).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import partial, wraps

from flask import Response, current_app, make_response, request
from flask_jwt_extended import current_user
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError

from service_app.common.i18n import bilingual
from service_app.common.models import IdempotencyKey
from service_app.common.time import utcnow
from service_app.errors import Conflict, ValidationFailed
from service_app.extensions import db

HEADER = "Idempotency-Key"
_REPLAYED_HEADERS = ("ETag", "Location", "Content-Type")


def _fingerprint() -> str:
    if request.mimetype == "multipart/form-data":
        canonical = _multipart_canonical()
    else:
        body = request.get_data(cache=True)
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        except (ValueError, RecursionError, UnicodeDecodeError):
            canonical = body
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.full_path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _multipart_canonical() -> bytes:
    """Fields and file contents, not raw bytes: a retry built anew has a new multipart boundary.

    Files are hashed from the parser's spooled copies (not buffered in memory) and rewound for the view.
    """
    lines = [f"{name}={value}" for name, value in sorted(request.form.items(multi=True))]
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        content = hashlib.sha256()
        for chunk in iter(partial(upload.stream.read, 65536), b""):
            content.update(chunk)
        upload.stream.seek(0)
        lines.append(f"{name}:{upload.filename}:{upload.mimetype}:{content.hexdigest()}")
    return "\n".join(lines).encode()


def _validated_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 128) or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            errors={HEADER: [bilingual("须为 1–128 个可打印 ASCII 字符", "1-128 printable ASCII characters")]}
        )
    return key


def _find(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at > utcnow()
        )
    )


def _replay(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise ValidationFailed(
            "idempotency_key_reused",
            errors={HEADER: [bilingual("该幂等键已用于另一请求", "This key was used for a different request")]},
            zh="幂等键已用于内容不同的请求",
            en="The Idempotency-Key was already used with a different request",
        )
    if record.response_status is None:
        raise Conflict(
            "idempotency_in_progress",
            zh="相同请求正在处理，请稍后重试",
            en="The same request is still being processed; retry shortly",
        )
    response = current_app.response_class(record.response_body, status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Make a create endpoint safe to retry with `Idempotency-Key`. Place it under `roles_required`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _validated_key()
        if key is None:
            return view(*args, **kwargs)
        user_id = current_user.id
        fingerprint = _fingerprint()
        existing = _find(user_id, key)
        if existing is not None:
            return _replay(existing, fingerprint)
        # An expired row with the same key would collide with the unique constraint.
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))
        now = utcnow()
        record = IdempotencyKey(
            user_id=user_id,
            key=key,
            endpoint=request.path[:255],
            request_hash=fingerprint,
            created_at=now,
            expires_at=now + timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"]),
        )
        db.session.add(record)
        try:
            response = make_response(view(*args, **kwargs))
        except IntegrityError:
            # A concurrent request with the same key committed first: answer as its retry.
            db.session.rollback()
            existing = _find(user_id, key)
            if existing is None:
                raise
            return _replay(existing, fingerprint)
        state = inspect(record)
        if state.persistent and 200 <= response.status_code < 300:
            record.response_status = response.status_code
            record.response_body = response.get_data(as_text=True)
            record.response_headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
            db.session.commit()
        elif state.pending:
            db.session.expunge(record)
        return response

    return wrapper


def purge_expired(*, now=None) -> int:
    """Delete keys past their lifetime (a scheduled job)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow())))
    db.session.commit()
    return result.rowcount or 0
