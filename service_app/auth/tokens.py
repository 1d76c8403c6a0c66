"""flask-jwt-extended wiring: one user look-up per request, and every JWT error as a 401."""

from __future__ import annotations

from flask import Flask

from service_app.auth import service
from service_app.errors import error_response
from service_app.extensions import jwt


def init_app(app: Flask) -> None:
    jwt.init_app(app)

    @jwt.token_in_blocklist_loader
    def _blocked(_header, payload):
        return service.check_token(payload)

    @jwt.user_lookup_loader
    def _user(_header, _payload):
        return service.loaded_user()

    @jwt.user_lookup_error_loader
    def _no_user(_header, _payload):
        return error_response(401, "user_inactive")

    @jwt.unauthorized_loader
    def _missing(_reason):
        return error_response(401, "unauthorized")

    @jwt.invalid_token_loader
    def _invalid(_reason):
        return error_response(401, "token_invalid")

    @jwt.expired_token_loader
    def _expired(_header, _payload):
        return error_response(401, "token_expired")

    @jwt.revoked_token_loader
    def _revoked(_header, _payload):
        return error_response(401, "token_revoked")

    @jwt.needs_fresh_token_loader
    def _not_fresh(_header, _payload):
        return error_response(401, "token_invalid")

    @jwt.token_verification_failed_loader
    def _failed(_header, _payload):
        return error_response(401, "token_invalid")
