"""What goes in and out of the attachments API."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import fields

from service_app.common.schemas import AwareDateTime, Schema


class UploadSchema(Schema):
    file = Upload(
        required=True, metadata={"description": "JPEG, PNG, WebP, HEIC/HEIF or PDF; the type is read from the content"}
    )


class AttachmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    filename = fields.String(
        dump_only=True,
        metadata={"description": "The client's file name, cleaned, with an extension matching the content"},
    )
    content_type = fields.String(dump_only=True)
    size = fields.Integer(dump_only=True, metadata={"description": "Bytes"})
    sha256 = fields.String(
        dump_only=True, metadata={"description": "Hex SHA-256 of the content; also the download's ETag"}
    )
    created_at = AwareDateTime(dump_only=True)
    url = fields.Function(
        lambda a: f"/api/v1/attachments/{a.id}",
        dump_only=True,
        metadata={"type": "string", "description": "Where to download it"},
    )
