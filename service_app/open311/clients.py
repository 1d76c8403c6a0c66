"""Partner API clients: admins issue keys (shown once, stored as SHA-256), list and revoke them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from limits import parse_many
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service_app.auth.models import User
from service_app.common.i18n import bilingual
from service_app.common.time import utcnow
from service_app.errors import Conflict, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.open311.models import SCOPES, ApiClient


@dataclass
class IssuedClient:
    """A new client with its key: the only time the key exists outside the caller's hands."""

    client: ApiClient
    api_key: str

    def __getattr__(self, name: str):
        if name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def issue_client(
    *, actor: User, name: str, scopes: Sequence[str], rate_limit: str, now: datetime | None = None
) -> IssuedClient:
    """Create a client and its key; the key is returned once and only its hash is kept."""
    wanted = sorted(set(scopes), key=SCOPES.index)
    if not wanted:
        raise ValidationFailed(errors={"scopes": [bilingual("至少需要一个权限范围", "At least one scope is required")]})
    try:
        parse_many(rate_limit)
    except ValueError:
        message = bilingual("频率限制格式无效，例如 120 per minute", "Invalid rate limit, e.g. 120 per minute")
        raise ValidationFailed(errors={"rate_limit": [message]}) from None
    api_key = secrets.token_urlsafe(32)
    client = ApiClient(
        name=name, key_hash=hash_key(api_key), key_prefix=api_key[:8], scopes=" ".join(wanted),
        rate_limit=rate_limit, created_by_id=actor.id, created_at=now or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(client)
    except IntegrityError:
        raise Conflict("api_client_name_taken", zh="该名称的客户端已存在", en="A client of this name exists") from None
    db.session.commit()
    return IssuedClient(client, api_key)


def list_clients() -> list[ApiClient]:
    """Every client, revoked ones included (their names keep naming the problems they filed)."""
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.id)))


def revoke_client(*, client_id: int, now: datetime | None = None) -> ApiClient:
    """Revoke a key at once; revoking twice changes nothing."""
    client = db.session.get(ApiClient, client_id, with_for_update=True)
    if client is None:
        raise NotFound()
    if client.revoked_at is None:
        client.revoked_at = now or utcnow()
    db.session.commit()
    return client


def authenticate(api_key: str) -> ApiClient | None:
    """The active client holding this key, else None."""
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_hash == hash_key(api_key)))
    if client is None or client.revoked_at is not None:
        return None
    return client
