"""Uploading and reading attachments (photos and PDF documents)."""

from __future__ import annotations

from flask import url_for

from service_app.attachments import service
from service_app.attachments.download import file_response
from service_app.attachments.schemas import AttachmentSchema, UploadSchema
from service_app.auth.models import Role
from service_app.auth.permissions import actor, login_required, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.http import accepts_multipart, upload_size_limit
from service_app.common.idempotency import idempotent

blp = Blueprint(
    "attachments", __name__, url_prefix="/api/v1", description="附件 / Attachments: photos and PDF documents"
)

# Admins neither file problems nor visit enterprises, and see neither: an upload of theirs could
# never be attached to anything or read by anyone else.
UPLOADERS = (Role.ENTERPRISE, Role.CADRE, Role.DEPARTMENT, Role.MANAGER)
FILE_RESPONSES = {
    "200": {
        "description": "The file",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    "304": {"description": "Not modified (If-None-Match matched the ETag, the file's SHA-256)"},
    "206": {"description": "Partial content (Range)"},
}


@blp.route("/attachments", methods=["POST"])
@accepts_multipart
@roles_required(*UPLOADERS)
@upload_size_limit("ATTACHMENT_MAX_BYTES", service.too_large)
@idempotent
@blp.arguments(UploadSchema, location="files")
@blp.response(201, AttachmentSchema)
@blp.doc(responses=error_responses(413, 415, 422))
def upload(files):
    """Upload a photo or PDF (multipart field `file`); attach it to a problem or visit by id."""
    attachment = service.upload(owner_id=actor().id, file=files["file"])
    return attachment, 201, {"Location": url_for("attachments.download", attachment_id=attachment.id)}


@blp.route("/attachments/<int:attachment_id>", methods=["GET"])
@login_required
@blp.doc(responses={**FILE_RESPONSES, **error_responses(404)})
def download(attachment_id: int):
    """Download a file: for its uploader and whoever may see its problem or visit."""
    attachment = service.get_visible_attachment(actor(), attachment_id)
    return file_response(attachment)


@blp.route("/attachments/<int:attachment_id>/meta", methods=["GET"])
@login_required
@blp.response(200, AttachmentSchema)
@blp.doc(responses=error_responses(404))
def meta(attachment_id: int):
    """A file's metadata, under the same rule as the download."""
    return service.get_visible_attachment(actor(), attachment_id)
