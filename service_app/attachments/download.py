"""The HTTP response that carries an attachment's bytes."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, request
from werkzeug.wsgi import wrap_file

from service_app.attachments import content, service
from service_app.attachments.models import Attachment

# Authorisation is checked on every use, so caches must ask again; the ETag makes that a cheap 304.
CACHE_CONTROL = "private, no-cache"


def file_response(attachment: Attachment) -> Response:
    """Stream the file with its type, name, ETag and range support; 304 without touching storage."""
    if request.if_none_match.contains(attachment.sha256):
        response = current_app.response_class(status=304)
    else:
        stream = service.open_content(attachment)
        response = current_app.response_class(
            wrap_file(request.environ, stream), mimetype=attachment.content_type, direct_passthrough=True
        )
        response.content_length = attachment.size
        response.headers["Content-Disposition"] = content_disposition(attachment)
    response.set_etag(attachment.sha256)
    response.last_modified = attachment.created_at
    response.headers["Cache-Control"] = CACHE_CONTROL
    # Never let a browser reinterpret an image or PDF as something it could run.
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.status_code == 304:
        return response
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=attachment.size)


def content_disposition(attachment: Attachment) -> str:
    """`attachment` with an ASCII `filename` and, for Chinese names, RFC 5987 `filename*`."""
    name = attachment.filename
    if name.isascii():
        return f'attachment; filename="{name}"'
    fallback = content.ascii_fallback(name, attachment.id)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
