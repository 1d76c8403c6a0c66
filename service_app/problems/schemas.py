"""What goes in and out of the problem API. Shapes only: the rules live in service.py and workflow.py.

The bodies of the action endpoints (POST /problems/{id}/{action}) sit with their action records in
workflow.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from marshmallow import fields, validate
from webargs.fields import DelimitedList

from service_app.attachments.schemas import AttachmentSchema
from service_app.common.pagination import PageArgsSchema, page_schema
from service_app.common.schemas import MAX_ID, AwareDateTime, Integer, Schema, Text
from service_app.common.time import utcnow
from service_app.problems import sla
from service_app.problems.models import STATUS_LABELS, STATUS_LABELS_EN, STATUSES
from service_app.problems.workflow import ACTIONS, REASON_LABELS

_ID = validate.Range(min=1, max=MAX_ID)


def _name(relation: str, key: str | None = None, attribute: str = "name"):
    """The name of a (possibly absent) related row: from the view's `names`, read by the service in
    the problem's own statement, or else from the relation loaded with the problem."""
    key = key or f"{relation}_name"

    def read(obj):
        names = getattr(obj, "names", None)
        if names is not None:
            return names[key]
        return getattr(getattr(obj, relation), attribute, None)

    return read


# --- output ---------------------------------------------------------------------------------------

class ProblemSchema(Schema):
    """A list item: everything the app's problem list shows, with Chinese and English labels."""

    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True, metadata={"description": "WT-YYYYMMDD-NNNN (Asia/Shanghai date)"})
    title = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    status_label = fields.Function(lambda p: STATUS_LABELS[p.status], dump_only=True, metadata={"type": "string"})
    status_label_en = fields.Function(lambda p: STATUS_LABELS_EN[p.status], dump_only=True, metadata={"type": "string"})
    urgent = fields.Boolean(dump_only=True)
    category_id = fields.Integer(dump_only=True)
    category_label = fields.Function(
        _name("category", "category_label"), dump_only=True, metadata={"type": "string"}
    )
    category_label_en = fields.Function(
        _name("category", "category_label_en", "name_en"),
        dump_only=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    enterprise_id = fields.Integer(dump_only=True)
    enterprise_name = fields.Function(_name("enterprise"), dump_only=True, metadata={"type": "string"})
    cadre_id = fields.Integer(dump_only=True, allow_none=True)
    cadre_name = fields.Function(_name("cadre"), dump_only=True, allow_none=True, metadata={"type": "string"})
    department_id = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The department it is dispatched to now"}
    )
    department_name = fields.Function(_name("department"), dump_only=True, allow_none=True, metadata={"type": "string"})
    handler_id = fields.Integer(dump_only=True, allow_none=True)
    handler_name = fields.Function(_name("handler"), dump_only=True, allow_none=True, metadata={"type": "string"})
    supervised = fields.Boolean(dump_only=True)
    overdue = fields.Function(
        lambda p: sla.is_overdue(p, utcnow()),
        dump_only=True,
        metadata={"type": "boolean", "description": "Open and past due_at"},
    )
    response_due_at = AwareDateTime(dump_only=True)
    due_at = AwareDateTime(dump_only=True)
    deadline_provisional = fields.Boolean(
        dump_only=True, metadata={"description": "Counted on weekdays only: a year the calendar does not cover yet"}
    )
    urge_count = fields.Integer(dump_only=True)
    reopen_count = fields.Integer(dump_only=True)
    created_at = AwareDateTime(dump_only=True)
    updated_at = AwareDateTime(dump_only=True)
    version = fields.Integer(
        dump_only=True, metadata={"description": "Bumped by every change; the ETag derives from it"}
    )
    source = fields.String(dump_only=True, metadata={"description": '"app", or "open311:<client name>"'})


class RatingSchema(Schema):
    id = fields.Integer(dump_only=True)
    score = fields.Integer(dump_only=True)
    comment = fields.String(dump_only=True, allow_none=True)
    resolution_no = fields.Integer(
        dump_only=True, metadata={"description": "0 rates the first resolution, 1 the one after the first reopen…"}
    )
    created_at = AwareDateTime(dump_only=True)


class ProblemDetailSchema(ProblemSchema):
    description = fields.String(dump_only=True)
    filed_by_id = fields.Integer(dump_only=True, allow_none=True, metadata={"description": "null: a partner system"})
    filed_by_name = fields.Function(_name("filed_by"), dump_only=True, allow_none=True, metadata={"type": "string"})
    visit_id = fields.Integer(dump_only=True, allow_none=True)
    duplicate_of_id = fields.Integer(dump_only=True, allow_none=True)
    reject_reason = fields.String(dump_only=True, allow_none=True)
    resolution = fields.String(dump_only=True, allow_none=True)
    closed_reason = fields.String(dump_only=True, allow_none=True, metadata={"enum": ["rated", "unrated", None]})
    supervised_at = AwareDateTime(dump_only=True, allow_none=True)
    first_response_at = AwareDateTime(dump_only=True, allow_none=True)
    accepted_at = AwareDateTime(dump_only=True, allow_none=True)
    dispatched_at = AwareDateTime(dump_only=True, allow_none=True)
    claimed_at = AwareDateTime(dump_only=True, allow_none=True)
    resolved_at = AwareDateTime(dump_only=True, allow_none=True)
    closed_at = AwareDateTime(dump_only=True, allow_none=True)
    withdrawn_at = AwareDateTime(dump_only=True, allow_none=True)
    paused_at = AwareDateTime(dump_only=True, allow_none=True, metadata={"description": "Awaiting information since"})
    last_urged_at = AwareDateTime(dump_only=True, allow_none=True)
    extension_days = fields.Integer(
        dump_only=True, metadata={"description": "Working days added by approved extensions"}
    )
    extension_request_days = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The pending extension request, in working days"}
    )
    attachments = fields.List(fields.Nested(AttachmentSchema), dump_only=True)
    rating = fields.Nested(RatingSchema, dump_only=True, allow_none=True, metadata={"description": "The latest rating"})
    allowed_actions = fields.List(
        fields.String(), dump_only=True, metadata={"description": "What the caller may do now"}
    )


ProblemPageSchema = page_schema(ProblemSchema, "ProblemPage")


def list_items(rows: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    """`ProblemSchema().dump(problem)` for each list row (service.LIST_COLUMNS and the names), at
    `now`, written straight from the rows: marshmallow took most of a page's CPU, and reading a
    Row's fields by name a fifth of what was left, so each row is read once into a dict.
    tests/test_problems_list_items.py checks the result equals the schema's for every role and state."""
    return [_item(dict(zip(row._fields, row, strict=True)), sla.is_overdue(row, now)) for row in rows]


def _item(r: dict[str, Any], overdue: bool) -> dict[str, Any]:
    """A list item (ProblemSchema's fields, in its order) from the problem's columns and names."""
    status = r["status"]
    return {
        "id": r["id"],
        "code": r["code"],
        "title": r["title"],
        "status": status,
        "status_label": STATUS_LABELS[status],
        "status_label_en": STATUS_LABELS_EN[status],
        "urgent": r["urgent"],
        "category_id": r["category_id"],
        "category_label": r["category_label"],
        "category_label_en": r["category_label_en"],
        "enterprise_id": r["enterprise_id"],
        "enterprise_name": r["enterprise_name"],
        "cadre_id": r["cadre_id"],
        "cadre_name": r["cadre_name"],
        "department_id": r["department_id"],
        "department_name": r["department_name"],
        "handler_id": r["handler_id"],
        "handler_name": r["handler_name"],
        "supervised": r["supervised"],
        "overdue": overdue,
        "response_due_at": _iso(r["response_due_at"]),
        "due_at": _iso(r["due_at"]),
        "deadline_provisional": r["deadline_provisional"],
        "urge_count": r["urge_count"],
        "reopen_count": r["reopen_count"],
        "created_at": _iso(r["created_at"]),
        "updated_at": _iso(r["updated_at"]),
        "version": r["version"],
        "source": r["source"],
    }


# The problem's own columns a list item shows (`_item` reads them with the names).
_ITEM_COLUMNS = (
    "id", "code", "title", "status", "urgent", "category_id", "enterprise_id", "cadre_id", "department_id",
    "handler_id", "supervised", "response_due_at", "due_at", "deadline_provisional", "urge_count", "reopen_count",
    "created_at", "updated_at", "version", "source",
)
# ProblemDetailSchema's own fields up to the attachments, in its order: plain values, then moments.
_DETAIL_VALUES = (
    "description", "filed_by_id", "filed_by_name", "visit_id", "duplicate_of_id", "reject_reason", "resolution",
    "closed_reason",
)
_DETAIL_MOMENTS = (
    "supervised_at", "first_response_at", "accepted_at", "dispatched_at", "claimed_at", "resolved_at", "closed_at",
    "withdrawn_at", "paused_at", "last_urged_at",
)
_ATTACHMENTS = AttachmentSchema(many=True)
_RATING = RatingSchema()


def detail_document(view: Any, now: datetime) -> dict[str, Any]:
    """`ProblemDetailSchema().dump(view)` at `now` for a view whose names the service read
    (`service.ProblemView.names`), written straight from the loaded problem: the schema's dump was
    a tenth of the detail's CPU. tests/test_problems_list_items.py checks it equals the schema's
    for every role and state, with attachments and ratings."""
    problem, names = view.problem, view.names
    r = {name: getattr(problem, name) for name in _ITEM_COLUMNS} | names
    document = _item(r, sla.is_overdue(problem, now))
    for name in _DETAIL_VALUES:
        document[name] = names[name] if name == "filed_by_name" else getattr(problem, name)
    for name in _DETAIL_MOMENTS:
        document[name] = _iso(getattr(problem, name))
    document["extension_days"] = problem.extension_days
    document["extension_request_days"] = problem.extension_request_days
    document["attachments"] = _ATTACHMENTS.dump(view.attachments) if view.attachments else []
    document["rating"] = None if view.rating is None else _RATING.dump(view.rating)
    document["allowed_actions"] = list(view.allowed_actions)
    return document


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class EventSchema(Schema):
    """One line of the timeline."""

    id = fields.Integer(dump_only=True)
    action = fields.String(dump_only=True)
    action_label = fields.Function(lambda e: ACTIONS[e.action].zh, dump_only=True, metadata={"type": "string"})
    action_label_en = fields.Function(lambda e: ACTIONS[e.action].en, dump_only=True, metadata={"type": "string"})
    from_status = fields.String(dump_only=True, allow_none=True)
    to_status = fields.String(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    reason_code = fields.String(dump_only=True, allow_none=True)
    reason_label = fields.Function(
        lambda e: REASON_LABELS.get(e.reason_code),
        dump_only=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    department_id = fields.Integer(dump_only=True, allow_none=True)
    department_name = fields.String(dump_only=True, allow_none=True)
    internal = fields.Boolean(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True, metadata={"description": "null: the system"})
    actor_name = fields.Function(_name("actor"), dump_only=True, allow_none=True, metadata={"type": "string"})
    actor_role = fields.Function(
        lambda e: e.actor.role if e.actor is not None else None,
        dump_only=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    created_at = AwareDateTime(dump_only=True)


# --- input ----------------------------------------------------------------------------------------


class ProblemCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(min=2, max=120))
    description = Text(required=True, validate=validate.Length(min=1, max=4000))
    category_id = Integer(required=True, validate=_ID)
    urgent = fields.Boolean(load_default=False)
    enterprise_id = Integer(
        load_default=None, allow_none=True, validate=_ID,
        metadata={"description": "Required when a cadre files for a linked enterprise"},
    )
    attachment_ids = fields.List(Integer(validate=_ID), load_default=list, validate=validate.Length(max=9))
    visit_id = Integer(
        load_default=None, allow_none=True, validate=_ID,
        metadata={"description": "The cadre's own visit to that enterprise"},
    )


class ProblemQuerySchema(PageArgsSchema):
    status = DelimitedList(
        fields.String(validate=validate.OneOf(STATUSES)), metadata={"description": "One or more, comma-separated"}
    )
    category_id = Integer(validate=_ID)
    enterprise_id = Integer(validate=_ID)
    department_id = Integer(validate=_ID, metadata={"description": "The department it is dispatched to now"})
    overdue = fields.Boolean()
    supervised = fields.Boolean()
    updated_since = AwareDateTime(metadata={"description": "Changed at or after this time (for syncing)"})
    q = Text(validate=validate.Length(min=1, max=64), metadata={"description": "Title contains"})


class RatingCreateSchema(Schema):
    score = Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))
