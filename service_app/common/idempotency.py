"""`Idempotency-Key` on create requests (DESIGN.md §4, mobile-client conventions).

The same key and body from the same user replays the first response; the same key with another
body (or endpoint) is 422; keys live IDEMPOTENCY_TTL_HOURS (24 h).

The key row is written in the request's transaction before the view runs (`_claim`: one statement,
no read before it). While the view runs, the service's commit only flushes
(`common.transactions.one_commit`); the wrapper records the 2xx answer in the same transaction and
one COMMIT stores the key, the creation and the answer together: a retry can never create a second
object, and there is no moment at which the creation is committed and its answer not (a worker that
dies after the COMMIT leaves a key that replays). A retry that arrives while the first request runs
waits for it on PostgreSQL (the key's row) or SQLite (the write lock) and replays its answer; one
that finds the key without an answer (a view that committed a non-2xx answer) is 409 (in progress).
A failure anywhere rolls back the key with the creation, so a retry runs for real.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import cache, partial, wraps

from flask import Response, current_app, make_response, request
from flask_jwt_extended import current_user
from sqlalchemy import TextClause, Update, bindparam, delete, select, text, update
from sqlalchemy.exc import IntegrityError

from service_app.common.i18n import bilingual
from service_app.common.models import IdempotencyKey
from service_app.common.time import utcnow
from service_app.common.transactions import execute, one_commit
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
        raise _in_progress()
    response = current_app.response_class(record.response_body, status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _in_progress() -> Conflict:
    return Conflict(
        "idempotency_in_progress",
        zh="相同请求正在处理，请稍后重试",
        en="The same request is still being processed; retry shortly",
    )


def idempotent(view: Callable) -> Callable:
    """Make a create endpoint safe to retry with `Idempotency-Key`. Place it under `roles_required`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _validated_key()
        if key is None:
            return view(*args, **kwargs)
        user_id = current_user.id
        fingerprint = _fingerprint()
        now = utcnow()
        claimed = execute(
            _claim(),
            {
                "user_id": user_id,
                "key": key,
                "endpoint": request.path[:255],
                "request_hash": fingerprint,
                "created_at": now,
                "expires_at": now + timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"]),
            },
        ).scalar()
        if claimed is None:  # a live key: this request is a retry
            existing = _find(user_id, key)
            if existing is None:  # it expired in the instant between the two statements
                raise _in_progress()
            return _replay(existing, fingerprint)
        try:
            # The service's commit only flushes here: the answer is recorded in the creation's
            # transaction and one COMMIT stores the key, the creation and the answer together.
            with one_commit() as unit:
                response = make_response(view(*args, **kwargs))
                if 200 <= response.status_code < 300:
                    headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
                    execute(
                        _record(),
                        {
                            "key_id": claimed,
                            "status": response.status_code,
                            "body": response.get_data(as_text=True),
                            "headers": headers,
                        },
                    )
                    unit.requested = True
        except IntegrityError:
            # A constraint refused the creation (rolled back, key and all): if a concurrent request
            # with the same key committed first, answer as its retry.
            existing = _find(user_id, key)
            if existing is None:
                raise
            return _replay(existing, fingerprint)
        return response

    return wrapper


@cache
def _claim() -> TextClause:
    """Take the key for this request, in the request's transaction: one statement, the same on SQLite
    and PostgreSQL, that inserts it, or takes over the row of an expired one, and returns its id; a
    live key returns nothing (the request is a retry). The request's one COMMIT stores the key with
    the creation and its answer, so a retry can never create a second object. A concurrent first request with the same
    key makes PostgreSQL wait for its end here, and then its row is live."""
    table = IdempotencyKey.__table__
    columns = ("user_id", "key", "endpoint", "request_hash", "created_at", "expires_at")
    return (
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(f':{c}' for c in columns)}) "
            "ON CONFLICT (user_id, key) DO UPDATE SET endpoint = excluded.endpoint, "
            "request_hash = excluded.request_hash, created_at = excluded.created_at, "
            "expires_at = excluded.expires_at, response_status = NULL, response_body = NULL, "
            f"response_headers = NULL WHERE {table.name}.expires_at <= excluded.created_at RETURNING id"
        )
        .bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))
        .columns(table.c.id)
    )


@cache
def _record() -> Update:
    """Store the answer a retry replays."""
    table = IdempotencyKey.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("key_id", type_=table.c.id.type))
        .values(
            response_status=bindparam("status", type_=table.c.response_status.type),
            response_body=bindparam("body", type_=table.c.response_body.type),
            response_headers=bindparam("headers", type_=table.c.response_headers.type),
        )
    )


def purge_expired(*, now=None) -> int:
    """Delete keys past their lifetime (a scheduled job)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow())))
    db.session.commit()
    return result.rowcount or 0
