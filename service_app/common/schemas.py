"""Base schema and shared fields: unknown fields are rejected everywhere (marshmallow RAISE)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


class Schema(ma.Schema):
    """Every API schema derives from this: unknown fields raise, output keeps declaration order."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ErrorSchema(Schema):
    """The one error shape (documentation only)."""

    code = fields.Integer(metadata={"description": "HTTP status code"})
    status = fields.String(metadata={"description": "HTTP reason phrase"})
    message = fields.String(metadata={"description": "Human text: zh-CN by default, en with Accept-Language: en"})
    error_code = fields.String(metadata={"description": "Stable machine-readable code"})
    errors = fields.Dict(metadata={"description": "Field name -> list of messages (422)"})


class Text(fields.String):
    """A string that is stripped and must not be blank when required."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip() if isinstance(result, str) else result


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with offset; naive input is read as UTC."""

    def __init__(self, **kwargs):
        from datetime import timezone

        kwargs.setdefault("default_timezone", timezone.utc)
        super().__init__(**kwargs)
