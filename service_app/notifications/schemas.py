"""What goes in and out of the notifications API."""

from __future__ import annotations

from marshmallow import fields

from service_app.common.pagination import PageArgsSchema, page_schema
from service_app.common.schemas import AwareDateTime, Id, Schema
from service_app.notifications.messages import KINDS, render


class NotificationSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"description": "One of: " + ", ".join(KINDS)})
    title = fields.Function(
        lambda notice: render(notice.kind, notice.params)[0],
        dump_only=True,
        metadata={"type": "string", "description": "In the reader's language (Accept-Language)"},
    )
    body = fields.Function(
        lambda notice: render(notice.kind, notice.params)[1], dump_only=True, metadata={"type": "string"}
    )
    problem_id = fields.Integer(dump_only=True, allow_none=True)
    visit_id = fields.Integer(dump_only=True, allow_none=True)
    data = fields.Dict(
        attribute="params", dump_only=True, metadata={"description": "The notice's parameters (kind-specific)"}
    )
    created_at = AwareDateTime(dump_only=True)
    read_at = AwareDateTime(dump_only=True, allow_none=True)
    read = fields.Function(lambda notice: notice.read_at is not None, dump_only=True, metadata={"type": "boolean"})


class NotificationQuerySchema(PageArgsSchema):
    unread = fields.Boolean(
        load_default=None, metadata={"description": "true: only unread; false: only read; absent: all"}
    )


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class ReadAllSchema(Schema):
    up_to_id = Id(
        load_default=None,
        metadata={
            "description": "Mark only notices up to this id (the newest one shown), "
            "so a notice that arrived meanwhile stays unread"
        },
    )


class ReadAllResultSchema(Schema):
    updated = fields.Integer(dump_only=True, metadata={"description": "Notices marked read by this request"})
    unread_count = fields.Integer(dump_only=True)


class FailedDeliverySchema(Schema):
    id = fields.Integer(dump_only=True)
    notification_id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True, attribute="notification.user_id")
    kind = fields.String(dump_only=True, attribute="notification.kind")
    device_id = fields.Integer(dump_only=True)
    provider = fields.String(dump_only=True, attribute="device.provider")
    platform = fields.String(dump_only=True, attribute="device.platform")
    attempts = fields.Integer(dump_only=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    created_at = AwareDateTime(dump_only=True)
    finished_at = AwareDateTime(dump_only=True)


FailedDeliveryPageSchema = page_schema(FailedDeliverySchema, "FailedDeliveryPage")
