"""The caller's in-app notices."""

from __future__ import annotations

from service_app.auth.models import Role
from service_app.auth.permissions import actor, login_required, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.pagination import PageArgsSchema
from service_app.notifications import delivery, service
from service_app.notifications.schemas import (
    FailedDeliveryPageSchema,
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
    """消息列表 / The caller's notices, newest first (`?unread=true` for unread only).

    当前用户的消息，最新在前；`unread=true` 只看未读。
    The caller's notices, newest first.
    """
    page, unread = service.list_for(actor().id, unread=args["unread"], limit=args["limit"], cursor=args["cursor"])
    return page, 200, {"X-Unread-Count": str(unread)}


@blp.route("/me/notifications/<int:notification_id>/read", methods=["POST"])
@blp.doc(operationId="readNotification")
@login_required
@blp.response(200, NotificationSchema, headers=UNREAD_HEADER)
@blp.doc(responses=error_responses(404))
def read(notification_id: int):
    """标记消息已读 / Mark one of the caller's notices read (idempotent).

    把一条消息标记为已读；重复调用结果相同。
    Marks one notice read; repeating it changes nothing.
    """
    notice, unread = service.mark_read(actor().id, notification_id)
    return notice, 200, {"X-Unread-Count": str(unread)}


@blp.route("/me/notifications/read-all", methods=["POST"])
@blp.doc(operationId="readAllNotifications")
@login_required
@blp.arguments(ReadAllSchema)
@blp.response(200, ReadAllResultSchema)
def read_all(args):
    """全部标记已读 / Mark all the caller's notices read (optionally only up to `up_to_id`).

    把全部（或 `up_to_id` 及以前的）消息标记为已读。
    Marks all notices (or those up to `up_to_id`) read.
    """
    updated, unread = service.mark_all_read(actor().id, up_to_id=args["up_to_id"])
    return {"updated": updated, "unread_count": unread}


@blp.route("/notifications/failed", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, FailedDeliveryPageSchema)
def failed_deliveries(args):
    """推送失败列表 / Pushes given up on, newest first.

    最后一次重试后仍失败、或被推送服务永久拒绝的推送（管理员）。
    After the last retry, or refused for good by the provider (admins).
    """
    return delivery.list_failed(limit=args["limit"], cursor=args["cursor"])
