"""Problems: filing, reading, the workflow actions and ratings (DESIGN.md §5)."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, request, url_for
from werkzeug.http import quote_etag

from service_app.auth.models import Role
from service_app.auth.permissions import actor, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.idempotency import idempotent
from service_app.common.time import utcnow
from service_app.problems import schemas, service, workflow

blp = Blueprint(
    "problems", __name__, url_prefix="/api/v1", description="问题、办理流程与评价 / Problems, workflow and ratings"
)

_ETAG_DOC = {
    "ETag": {"description": "Strong validator of this problem; send it back as If-Match", "schema": {"type": "string"}}
}
_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "schema": {"type": "string"},
    "description": "The ETag you last saw; 412 when the problem changed since",
}
_IF_MATCH_DOC = {"parameters": [_IF_MATCH]}
_IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "schema": {"type": "string", "maxLength": 128},
    "description": "Retry with the same key and body to get the first answer again (24 h)",
}
_IF_NONE_MATCH_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "If-None-Match",
            "schema": {"type": "string"},
            "description": "The ETag you hold; 304 when unchanged",
        }
    ]
}


def _if_match() -> frozenset[str] | None:
    """The strong tags of If-Match, or None when absent or `*` (the problem exists either way)."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    return frozenset(request.if_match.as_set())


def _detail(view: service.ProblemView, status: int = 200, *, now: datetime | None = None, **headers: str) -> Response:
    """The problem as GET /problems/{id} answers it, with its ETag: written by schemas.detail_document
    (the document ProblemDetailSchema describes and tests compare with its dump), not dumped, which
    cost a tenth of a detail's CPU. Every view a route answers with carries the names it read."""
    now = now or utcnow()
    response = current_app.json.response(schemas.detail_document(view, now))
    response.status_code = status
    response.headers["ETag"] = quote_etag(service.etag(view.problem, now=now))
    response.headers.update(headers)
    return response


@blp.route("/problems", methods=["GET"])
@roles_required(*workflow.PROBLEM_ROLES)
@blp.arguments(schemas.ProblemQuerySchema, location="query")
@blp.response(200, schemas.ProblemPageSchema)
def list_problems(args):
    """问题列表 / Problems the caller may see, newest first (`status`, `overdue`, `updated_since`… filters)."""
    now = utcnow()
    page = service.list_problems(actor(), now=now, **args)
    # Written from the rows by schemas.list_items (the document ProblemPageSchema describes), not dumped.
    return current_app.json.response({"items": schemas.list_items(page.items, now), "next_cursor": page.next_cursor})


@blp.route("/problems", methods=["POST"])
@roles_required(Role.ENTERPRISE, Role.CADRE)
@idempotent
@blp.arguments(schemas.ProblemCreateSchema)
@blp.response(201, schemas.ProblemDetailSchema, headers=_ETAG_DOC)
@blp.doc(responses=error_responses(409, 422), parameters=[_IDEMPOTENCY_KEY])
def file_problem(data):
    """反映问题 / File a problem: an enterprise for itself, a cadre for a linked enterprise."""
    view = service.file_problem(actor(), **data)
    return _detail(view, 201, Location=url_for("problems.get_problem", problem_id=view.problem.id))


@blp.route("/problems/<int:problem_id>", methods=["GET"])
@roles_required(*workflow.PROBLEM_ROLES)
@blp.response(200, schemas.ProblemDetailSchema, headers=_ETAG_DOC)
@blp.doc(
    responses={**error_responses(404), "304": {"description": "Not modified (If-None-Match)"}}, **_IF_NONE_MATCH_DOC
)
def get_problem(problem_id):
    """问题详情 / One problem: status, deadlines, handler, attachments, rating and what the caller may do."""
    now = utcnow()
    view = service.get_problem(actor(), problem_id, now=now)
    tag = service.etag(view.problem, now=now)
    if request.if_none_match.contains_weak(tag):
        return Response(status=304, headers={"ETag": quote_etag(tag)})
    return _detail(view, now=now)


@blp.route("/problems/<int:problem_id>/events", methods=["GET"])
@blp.doc(operationId="listProblemEvents")
@roles_required(*workflow.PROBLEM_ROLES)
@blp.response(200, schemas.EventSchema(many=True))
@blp.doc(responses=error_responses(404))
def problem_events(problem_id):
    """问题办理记录 / The problem's timeline, oldest first (internal comments are hidden from enterprises)."""
    return service.timeline(actor(), problem_id)


@blp.route("/problems/<int:problem_id>/rating", methods=["POST"])
@roles_required(Role.ENTERPRISE)
@idempotent
@blp.arguments(schemas.RatingCreateSchema)
@blp.response(201, schemas.ProblemDetailSchema, headers=_ETAG_DOC)
@blp.doc(responses=error_responses(404, 409, 412, 422), parameters=[_IF_MATCH, _IDEMPOTENCY_KEY])
def rate_problem(data, problem_id):
    """评价办理结果 / Rate the resolution (1–5): 3 or more closes the problem, 2 or less has it handled again."""
    return _detail(service.rate(actor(), problem_id, if_match=_if_match(), **data), 201)


# One endpoint per action record that has a body schema: POST /problems/{id}/{action} (workflow.ROUTED).
def _register_action(spec: workflow.ActionSpec) -> None:
    action = spec.name
    doc = {"summary": f"{spec.zh} / {spec.summary}"} | ({"description": spec.description} if spec.description else {})

    @blp.route(f"/problems/<int:problem_id>/{action}", methods=["POST"], endpoint=f"{action}_problem")
    @roles_required(*workflow.roles_for(action))
    @blp.arguments(spec.schema)
    @blp.response(200, schemas.ProblemDetailSchema, headers=_ETAG_DOC)
    @blp.doc(responses=error_responses(404, 409, 412, 422), **doc, **_IF_MATCH_DOC)
    def view(data, problem_id):
        return _detail(service.perform(actor(), problem_id, action, if_match=_if_match(), **data))


for _spec in workflow.ROUTED:
    _register_action(_spec)
