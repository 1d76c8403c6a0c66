"""What goes in and out of /api/v1/api-clients (the gateway itself speaks the Open311 spec: formats.py)."""

from __future__ import annotations

from flask import current_app
from marshmallow import fields, validate

from service_app.common.schemas import AwareDateTime, Schema, Text
from service_app.open311.models import SCOPES


class ApiClientSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True, metadata={"description": 'Problems it files carry source "open311:<name>"'})
    key_prefix = fields.String(dump_only=True, metadata={"description": "The key's first 8 characters"})
    scopes = fields.List(fields.String(metadata={"enum": list(SCOPES)}), attribute="scope_list", dump_only=True)
    rate_limit = fields.String(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = AwareDateTime(dump_only=True)
    revoked_at = AwareDateTime(dump_only=True, allow_none=True)


class IssuedApiClientSchema(ApiClientSchema):
    api_key = fields.String(dump_only=True, metadata={"description": "Shown once: only its hash is stored"})


class ApiClientCreateSchema(Schema):
    name = Text(required=True, validate=[validate.Length(min=1, max=64), validate.Regexp(r"^[^\s:][^:]*$")],
                metadata={"description": "Unique, e.g. 12345-hotline; no colon"})
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), required=True,
                         validate=validate.Length(min=1, max=len(SCOPES)),
                         metadata={"description": "read: its own requests; write: filing; read_all: every request"})
    rate_limit = Text(load_default=lambda: current_app.config["OPEN311_CLIENT_RATE_LIMIT"],
                      validate=validate.Length(min=1, max=64),
                      metadata={"description": "Flask-Limiter notation, e.g. 120 per minute;5000 per day"})
