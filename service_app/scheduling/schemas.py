from __future__ import annotations

from marshmallow import fields, validate

from service_app.common.pagination import PageArgsSchema
from service_app.common.schemas import AwareDateTime, Schema
from service_app.scheduling.models import OUTCOMES


class JobRunQuerySchema(PageArgsSchema):
    job = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    outcome = fields.String(load_default=None, validate=validate.OneOf(OUTCOMES))


class JobRunSchema(Schema):
    id = fields.Integer(dump_only=True)
    job = fields.String(dump_only=True)
    started_at = AwareDateTime(dump_only=True)
    finished_at = AwareDateTime(dump_only=True)
    outcome = fields.String(
        dump_only=True, metadata={"description": "ok | failed | skipped (another replica held the lock)"}
    )
    rows_affected = fields.Integer(dump_only=True, allow_none=True)
    error = fields.String(dump_only=True, allow_none=True)
    runner = fields.String(dump_only=True, allow_none=True, metadata={"description": "host:pid of the scheduler"})
