"""Visit check-in and check-out, the visit history, the managers' live view, and coverage."""

from __future__ import annotations

from flask import Response, current_app

from service_app.auth.models import Role
from service_app.auth.permissions import actor, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.idempotency import HEADER as IDEMPOTENCY_HEADER
from service_app.common.idempotency import idempotent
from service_app.visits import service
from service_app.visits.schemas import (
    CheckInSchema,
    CheckOutSchema,
    CoverageQuerySchema,
    CoverageReportSchema,
    ReviewSchema,
    VisitDetailSchema,
    VisitPageSchema,
    VisitQuerySchema,
    visit_document,
)

blp = Blueprint("visits", __name__, url_prefix="/api/v1", description="走访签到 / Visits")

_IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": 128},
    "description": "Retrying with the same key and body replays the first response (24 h)",
}


def _visit(view: service.VisitDetail, status: int = 200) -> Response:
    """The document VisitDetailSchema describes, written by `visit_document` (not dumped)."""
    response = current_app.json.response(visit_document(view))
    response.status_code = status
    return response


@blp.route("/visits/check-in", methods=["POST"])
@roles_required(Role.CADRE)
@idempotent
@blp.arguments(CheckInSchema)
@blp.response(201, VisitDetailSchema)
@blp.alt_response(200, schema=VisitDetailSchema, description="The visit an earlier request with this client_id created")
@blp.doc(parameters=[_IDEMPOTENCY_PARAMETER], responses=error_responses(404, 409, 422))
def check_in(data):
    """走访签到 / Check in at a linked enterprise (GPS verified, flags recorded, offline capture allowed)."""
    visit, created = service.check_in(cadre=actor(), **data)
    return _visit(visit, 201 if created else 200)


@blp.route("/visits/<int:visit_id>/check-out", methods=["POST"])
@roles_required(Role.CADRE)
@blp.arguments(CheckOutSchema)
@blp.response(200, VisitDetailSchema)
@blp.doc(responses=error_responses(404, 409, 422))
def check_out(data, visit_id):
    """走访签退 / Check out of one's own visit with position and summary."""
    return _visit(service.check_out(cadre=actor(), visit_id=visit_id, **data))


@blp.route("/visits/<int:visit_id>/review", methods=["POST"])
@blp.doc(operationId="reviewVisit")
@roles_required(Role.MANAGER)
@blp.arguments(ReviewSchema)
@blp.response(200, VisitDetailSchema)
@blp.doc(responses=error_responses(404, 409, 422))
def review(data, visit_id):
    """审核走访 / Confirm or dismiss a flagged check-in (a confirmed one counts as a visit); once per visit."""
    return _visit(service.review_visit(actor=actor(), visit_id=visit_id, **data))


@blp.route("/visits", methods=["GET"])
@roles_required(Role.CADRE, Role.MANAGER)
@blp.arguments(VisitQuerySchema, location="query")
@blp.response(200, VisitPageSchema)
@blp.doc(responses=error_responses(422))
def list_visits(args):
    """走访记录 / Visit history; `open=true` is the live view of who is where now, `review=pending` the review queue."""
    return service.list_visits(actor=actor(), **args)


@blp.route("/visits/<int:visit_id>", methods=["GET"])
@roles_required(Role.CADRE, Role.MANAGER)
@blp.response(200, VisitDetailSchema)
@blp.doc(responses=error_responses(404))
def get_visit(visit_id):
    """走访详情 / One visit, with its photos and the problems raised during it."""
    return _visit(service.get_visit(actor=actor(), visit_id=visit_id))


@blp.route("/visits/coverage", methods=["GET"])
@blp.doc(operationId="visitCoverage")
@roles_required(Role.CADRE, Role.MANAGER)
@blp.arguments(CoverageQuerySchema, location="query")
@blp.response(200, CoverageReportSchema)
@blp.doc(responses=error_responses(422))
def coverage(args):
    """走访覆盖率 / Linked enterprises visited in the last `days`: overall and per cadre (a cadre: its own)."""
    return service.coverage_report(actor=actor(), **args)
