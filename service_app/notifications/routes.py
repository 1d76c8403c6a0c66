"""The caller's in-app notices."""

from __future__ import annotations

from service_app.auth.permissions import actor, login_required
from service_app.common.api import Blueprint, error_responses
from service_app.notifications import service
from service_app.notifications.schemas import (
    NotificationPageSchema,
    NotificationQuerySchema,
    NotificationSchema,
    ReadAllResultSchema,
    ReadAllSchema,
)

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="消息通知 / In-app notices")

UNREAD_HEADER = {"X-Unread-Count": {"description": "The caller's unread notices in all", "schema": {"type": "integer"}}}


@blp.route("/me/notifications", methods=["GET"])
@login_required
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationPageSchema, headers=UNREAD_HEADER)
def list_notifications(args):
    """The caller's notices, newest first (`?unread=true` for unread only)."""
    page, unread = service.list_for(actor().id, unread=args["unread"], limit=args["limit"], cursor=args["cursor"])
    return page, 200, {"X-Unread-Count": str(unread)}


@blp.route("/me/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
@blp.response(200, NotificationSchema, headers=UNREAD_HEADER)
@blp.doc(responses=error_responses(404))
def read(notification_id: int):
    """Mark one of the caller's notices read (idempotent)."""
    notice, unread = service.mark_read(actor().id, notification_id)
    return notice, 200, {"X-Unread-Count": str(unread)}


@blp.route("/me/notifications/read-all", methods=["POST"])
@login_required
@blp.arguments(ReadAllSchema)
@blp.response(200, ReadAllResultSchema)
def read_all(args):
    """Mark all the caller's notices read (optionally only up to `up_to_id`)."""
    updated, unread = service.mark_all_read(actor().id, up_to_id=args["up_to_id"])
    return {"updated": updated, "unread_count": unread}
