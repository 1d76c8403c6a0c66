"""What GET /me/todo answers."""

from __future__ import annotations

from marshmallow import fields

from service_app.common.schemas import Schema


class TodoSchema(Schema):
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        dump_only=True,
        metadata={
            "description": "Exclusive counts of what the caller acts on next. enterprise: to_rate, awaiting_info; "
            "cadre: overdue, due_soon, to_accept, returned, to_dispatch; department: overdue, due_soon, "
            "to_claim, in_progress, awaiting_info; manager: overdue, supervised, flagged_visits"
        },
    )
    unread_notifications = fields.Integer(dump_only=True)
