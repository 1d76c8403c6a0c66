"""Statistics endpoints: summary, breakdowns, trends, common problems, export and refresh."""

from __future__ import annotations

from service_app.auth.models import Role
from service_app.auth.permissions import actor, roles_required
from service_app.common import tabular
from service_app.common.api import Blueprint, error_responses
from service_app.stats import service
from service_app.stats.schemas import (
    BreakdownSchema,
    CommonProblemsSchema,
    CommonQuerySchema,
    ExportQuerySchema,
    SummaryQuerySchema,
    SummarySchema,
    TrendQuerySchema,
    TrendSchema,
)

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats", description="统计 / Statistics")

_SUMMARY_DOC = "Managers: the zone, or a park, chain or department. Cadres and departments: their own problems. "
_PERIOD_DOC = (
    "The zone without from/to or filters comes from the latest snapshot (see computed_at); "
    "anything narrower is computed now."
)


@blp.route("/summary", methods=["GET"])
@roles_required(Role.MANAGER, Role.CADRE, Role.DEPARTMENT)
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, SummarySchema)
@blp.doc(description=_SUMMARY_DOC + _PERIOD_DOC, responses=error_responses(422))
def summary(args):
    """Resolution, response and satisfaction figures."""
    return service.summary(actor(), **args)


@blp.route("/by/<any(category,department,park,chain,cadre):dimension>", methods=["GET"])
@roles_required(Role.MANAGER, Role.CADRE, Role.DEPARTMENT)
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, BreakdownSchema)
@blp.doc(description=_SUMMARY_DOC + _PERIOD_DOC, responses=error_responses(422))
def by_dimension(args, dimension):
    """Figures by category, department, park, chain or cadre."""
    return service.breakdown(actor(), dimension, **args)


@blp.route("/trend", methods=["GET"])
@roles_required(Role.MANAGER, Role.CADRE, Role.DEPARTMENT)
@blp.arguments(TrendQuerySchema, location="query")
@blp.response(200, TrendSchema)
@blp.doc(description=_SUMMARY_DOC + _PERIOD_DOC, responses=error_responses(422))
def trend(args):
    """The figures per day, week or month (Asia/Shanghai)."""
    return service.trend(actor(), args.pop("interval"), **args)


@blp.route("/common-problems", methods=["GET"])
@roles_required(Role.MANAGER, Role.CADRE, Role.DEPARTMENT)
@blp.arguments(CommonQuerySchema, location="query")
@blp.response(200, CommonProblemsSchema)
@blp.doc(description=_SUMMARY_DOC + _PERIOD_DOC, responses=error_responses(422))
def common_problems(args):
    """Categories and title themes raised by many different enterprises (共性问题)."""
    return service.common_problems(actor(), **args)


_EXPORT_CONTENT = {
    mimetype.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
    for mimetype in tabular.MIMETYPES.values()
}


@blp.route("/export", methods=["GET"])
@roles_required(Role.MANAGER, Role.CADRE, Role.DEPARTMENT)
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(
    description=_SUMMARY_DOC,
    responses={"200": {"description": "The statistics file", "content": _EXPORT_CONTENT}, **error_responses(422)},
)
def export(args):
    """The statistics as a CSV or XLSX file (Chinese headers)."""
    exported = service.export(actor(), args.pop("format"), **args)
    return exported.response()


@blp.route("/refresh", methods=["POST"])
@roles_required(Role.MANAGER, Role.ADMIN)
@blp.response(200, SummarySchema)
def refresh():
    """Recompute every statistics snapshot now; returns the new zone summary."""
    return service.refresh()
