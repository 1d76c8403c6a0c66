"""Extension objects: created here, initialised in `create_app`."""

from __future__ import annotations

import time
from typing import Any

import click
from flask import Flask, current_app, request
from flask_jwt_extended import JWTManager as _JWTManager
from flask_jwt_extended import view_decorators
from flask_jwt_extended.config import config as _jwt_config
from flask_jwt_extended.default_callbacks import default_decode_key_callback
from flask_jwt_extended.tokens import _decode_jwt
from flask_jwt_extended.utils import get_unverified_jwt_headers
from flask_limiter import Limiter as _Limiter
from flask_sqlalchemy import SQLAlchemy
from jwt import ExpiredSignatureError
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from service_app.common.api import Api
from service_app.common.net import client_address

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Verified tokens kept per worker (about 2 KB each with claims and header: 2 MB at most); with
# 15-minute access tokens, more than a worker's callers at a time. When full, the set starts again.
VERIFIED_TOKENS_KEPT = 1024


class JWTManager(_JWTManager):
    """flask-jwt-extended, verifying a token with one decode instead of two.

    The library first decodes every token unverified, only to hand its header and claims to a
    `decode_key_loader`, then decodes it again with the key. Without a key loader (the key is the
    configured one) the first decode is waste: a third of the token check's CPU. Same checks, same
    errors; an expired token takes the library's path, which attaches its header and claims.

    A token's signature and claims are verified once per worker: the claims of a verified token
    are kept, keyed by the exact token text, per app (`VERIFIED_TOKENS_KEPT` at most; the whole set
    is dropped when full) with its header, which the library would otherwise read again unverified
    at every request, and its expiry is checked again at every use. What a token may do is
    still decided at every request by the session check (`auth.service.check_token`), so a
    revoked session or disabled account is refused at once whether its token was seen before or not.
    """

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if self._decode_key_callback is not default_decode_key_callback:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if csrf_value is not None or allow_expired:
            return self._verify(encoded_token, csrf_value, allow_expired)
        verified = current_app.extensions.setdefault("verified_tokens", {})
        kept = verified.get(encoded_token)
        if kept is not None and time.time() < kept[0]["exp"] + _jwt_config.leeway:
            return dict(kept[0])
        verified.pop(encoded_token, None)  # expired: the full check below raises the library's error
        claims = self._verify(encoded_token, None, False)
        if isinstance(claims.get("exp"), int | float):
            if len(verified) >= VERIFIED_TOKENS_KEPT:
                verified.clear()
            verified[encoded_token] = (dict(claims), get_unverified_jwt_headers(encoded_token))
        return claims

    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        super().init_app(app, add_context_processor)
        # The library reads a verified token's header once more, unverified, at every request.
        view_decorators.get_unverified_jwt_headers = _kept_header

    def _verify(self, encoded_token: str, csrf_value, allow_expired: bool) -> dict:
        try:
            return _decode_jwt(
                algorithms=_jwt_config.decode_algorithms,
                audience=_jwt_config.decode_audience,
                csrf_value=csrf_value,
                encoded_token=encoded_token,
                identity_claim_key=_jwt_config.identity_claim_key,
                issuer=_jwt_config.decode_issuer,
                leeway=_jwt_config.leeway,
                secret=_jwt_config.decode_key,
                verify_aud=_jwt_config.decode_audience is not None,
                verify_sub=_jwt_config.verify_sub,
                allow_expired=allow_expired,
            )
        except ExpiredSignatureError:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)


class Limiter(_Limiter):
    """Flask-Limiter, without its before-request pass on requests no limit can apply to.

    Its before-request hook resolves, for every request, the application, default, blueprint and
    meta limits and the endpoint's hints (≈ 0.05 ms a request, most of a cheap request's hooks). This
    service declares none of those: its limits sit on views (`limiter.limit` on the Open311 routes,
    checked by the decorator when the view runs) or are counted by `auth.throttle`. So the hook
    returns at once unless one of those kinds exists, for this endpoint or at all, or the storage is
    down (the library then applies its in-memory fallback and probes the storage from the hook).
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and callable_name is None and not self._limits_before_request():
            return
        super()._check_request_limit(callable_name, in_middleware)

    def _limits_before_request(self) -> bool:
        manager = self.limit_manager
        return bool(
            self._storage_dead
            or self._meta_limits
            or manager._application_limits
            or manager._default_limits
            or manager._blueprint_limits
            or manager.has_hints(request.endpoint or "")
        )


def _kept_header(encoded_token: str) -> dict:
    """A verified token's header as kept with its claims (flask-jwt-extended's reading otherwise)."""
    kept = current_app.extensions.get("verified_tokens", {}).get(encoded_token)
    return dict(kept[1]) if kept is not None else get_unverified_jwt_headers(encoded_token)


db = SQLAlchemy(model_class=Base)
jwt = JWTManager()
api = Api()
limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=True)


def init_migrations(app: Flask, **options: Any) -> None:
    """Flask-Migrate (`flask db …`, `flask_migrate.upgrade()`), set up when first used.

    Flask-Migrate imports Alembic, about 11 MB that a web worker never uses: the `db` command group
    and `app.extensions["migrate"]` stand in for it and build the real `Migrate(app, db, **options)`
    on first use (a `flask db` command, the migrations' env.py, `upgrade()` in tests and benches).
    """
    real: dict[str, Any] = {}

    def configured():
        if not real:
            from flask_migrate import Migrate

            Migrate().init_app(app, db, **options)  # replaces the stand-in in app.extensions
            real["config"] = app.extensions["migrate"]
        return real["config"]

    class StandIn:
        def __getattr__(self, name: str) -> Any:
            return getattr(configured(), name)

    class MigrateCommands(click.Group):
        """`flask db`: parsing and running are Flask-Migrate's own group's, once it is imported."""

        def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
            configured()
            from flask_migrate.cli import db as commands

            return commands.make_context(info_name, args, parent=parent, **extra)

    app.extensions["migrate"] = StandIn()
    app.cli.add_command(MigrateCommands("db", help="Perform database migrations (Flask-Migrate)."))
