"""Base schema and shared fields: unknown fields are rejected everywhere (marshmallow RAISE)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from service_app.common.error_codes import CATALOGUE

# Primary keys are 32-bit integers on PostgreSQL; larger values must be a 422, not a database error.
MAX_ID = 2**31 - 1


class Schema(ma.Schema):
    """Every API schema derives from this: unknown fields raise, output keeps declaration order."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ErrorSchema(Schema):
    """The one error shape (documentation only). Some errors add context keys, e.g. a 409's
    `current_status` and `allowed_actions`, or a 415's `allowed` types, hence INCLUDE."""

    class Meta:
        unknown = ma.INCLUDE

    code = fields.Integer(metadata={"description": "HTTP status code", "example": 422})
    status = fields.String(metadata={"description": "HTTP reason phrase", "example": "Unprocessable Entity"})
    message = fields.String(
        metadata={"description": "Human text: zh-CN by default, en with Accept-Language: en", "example": "提交的数据有误"}
    )
    error_code = fields.String(
        metadata={
            "description": "Stable machine-readable code; the README lists each with its status and message",
            "enum": list(CATALOGUE),
            "example": "validation_failed",
        }
    )
    errors = fields.Dict(
        metadata={"description": "Field name -> list of messages (422)", "example": {"lat": ["须在 -90 到 90 之间"]}}
    )


class Text(fields.String):
    """User text: stripped; NUL characters refused (PostgreSQL cannot store them in text)."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in result:
            from service_app.common.i18n import bilingual

            raise ma.ValidationError(bilingual("不能包含空字符（NUL）", "Must not contain NUL characters"))
        return result.strip()


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with offset; naive input is read as UTC."""

    def __init__(self, **kwargs):
        from datetime import timezone

        kwargs.setdefault("default_timezone", timezone.utc)
        super().__init__(**kwargs)


class Id(fields.Integer):
    """A reference to a row: a positive 32-bit integer (in a body or a query string)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)
