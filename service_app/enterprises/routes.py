"""Enterprises: look-up and profile, key indicators, rankings, bulk import and export."""

from __future__ import annotations

from flask.views import MethodView

from service_app.auth.models import Role
from service_app.auth.permissions import actor, login_required, roles_required
from service_app.common import tabular
from service_app.common.api import Blueprint, error_responses
from service_app.common.http import accepts_multipart, upload_size_limit
from service_app.common.pagination import PageArgsSchema, page_schema
from service_app.enterprises import exporting, history, importing, service
from service_app.enterprises.schemas import (
    EnterpriseChangeSchema,
    EnterpriseProfileSchema,
    EnterpriseQuerySchema,
    ExportQuerySchema,
    ImportFileSchema,
    ImportQuerySchema,
    ImportReportSchema,
    IndicatorSchema,
    IndicatorWriteSchema,
    RankingQuerySchema,
    RankingSchema,
)
from service_app.org import service as org_service
from service_app.org.schemas import (
    EnterpriseCreateSchema,
    EnterpriseListItemSchema,
    EnterpriseSchema,
    EnterpriseUpdateSchema,
)

blp = Blueprint(
    "enterprises", __name__, url_prefix="/api/v1", description="企业信息与关键指标 / Enterprises and key indicators"
)

blp.record_once(lambda state: history.init_app(state.app))

EnterprisePageSchema = page_schema(EnterpriseListItemSchema, "EnterprisePage")
EnterpriseChangePageSchema = page_schema(EnterpriseChangeSchema, "EnterpriseChangePage")


@blp.route("/enterprises")
class Enterprises(MethodView):
    @login_required
    @blp.arguments(EnterpriseQuerySchema, location="query")
    @blp.response(200, EnterprisePageSchema)
    def get(self, args):
        """企业列表 / Enterprises the caller may see: search by name or credit code, filter, page.

        按名称或统一社会信用代码搜索，按园区、产业链、规模筛选，游标分页。
        Search by name or credit code, filter by park, chain or scale; cursor pages.
        """
        return service.list_enterprises(actor(), **args)

    @roles_required(Role.ADMIN)
    @blp.arguments(EnterpriseCreateSchema)
    @blp.response(201, EnterpriseSchema)
    @blp.doc(responses=error_responses(409, 422))
    def post(self, data):
        """新建企业 / Register an enterprise."""
        return org_service.create_enterprise(**data)


@blp.route("/enterprises/<int:enterprise_id>")
class EnterpriseById(MethodView):
    @login_required
    @blp.response(200, EnterpriseProfileSchema)
    @blp.doc(responses=error_responses(404))
    def get(self, enterprise_id):
        """企业详情 / An enterprise's profile: contacts, linked cadres, problems, last visit, latest indicators.

        企业档案：联系人、结对干部、问题、最近走访和最新指标。
        The profile: contacts, linked cadres, problems, last visit and latest indicators.
        """
        return service.get_profile(actor(), enterprise_id)

    @roles_required(Role.ENTERPRISE, Role.ADMIN)
    @blp.arguments(EnterpriseUpdateSchema)
    @blp.response(200, EnterpriseSchema)
    @blp.doc(responses=error_responses(404, 409, 422))
    def patch(self, data, enterprise_id):
        """修改企业信息 / Change an enterprise's registration data.

        管理员可改任何字段，企业本身可改联系人、电话和地址。
        Admins any field, the enterprise itself its contact name, phone and address.
        """
        return service.update_enterprise(actor(), enterprise_id, changes=data)


@blp.route("/enterprises/<int:enterprise_id>/history", methods=["GET"])
@roles_required(Role.MANAGER, Role.ADMIN)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, EnterpriseChangePageSchema)
@blp.doc(responses=error_responses(404))
def enterprise_history(args, enterprise_id):
    """企业信息变更记录 / Who changed what in an enterprise, and when: old and new values, newest first."""
    return service.enterprise_history(actor(), enterprise_id, **args)


@blp.route("/enterprises/<int:enterprise_id>/indicators")
class EnterpriseIndicators(MethodView):
    @login_required
    @blp.response(200, IndicatorSchema(many=True))
    @blp.doc(responses=error_responses(404))
    def get(self, enterprise_id):
        """企业指标历史 / Indicator history by period, latest first, with per-mu figures and year-on-year growth.

        按期次倒序的指标历史，含亩均税收、亩均产值和同比增长。
        Indicator history, latest period first, with per-mu figures and growth.
        """
        return service.indicator_history(actor(), enterprise_id)

    @roles_required(Role.ENTERPRISE, Role.ADMIN)
    @blp.arguments(IndicatorWriteSchema)
    @blp.response(200, IndicatorSchema)
    @blp.alt_response(201, schema=IndicatorSchema, description="A new period was recorded")
    @blp.doc(responses=error_responses(404, 409, 422))
    def post(self, data, enterprise_id):
        """填报企业指标 / Report one period's figures (the same period again updates it)."""
        result, created = service.report_indicators(actor(), enterprise_id, figures=data)
        return result, 201 if created else 200


@blp.route("/enterprises/rankings", methods=["GET"])
@blp.doc(operationId="enterpriseRankings")
@roles_required(Role.MANAGER, Role.ADMIN)
@blp.arguments(RankingQuerySchema, location="query")
@blp.response(200, RankingSchema)
def rankings(args):
    """亩均排名 / Enterprises ranked by tax or output per mu for one period."""
    return service.rankings(actor(), **args)


@blp.route("/enterprises/import", methods=["POST"])
@accepts_multipart
@roles_required(Role.ADMIN)
@upload_size_limit("IMPORT_MAX_BYTES", importing.file_too_large)
@blp.arguments(ImportQuerySchema, location="query")
@blp.arguments(ImportFileSchema, location="files")
@blp.response(200, ImportReportSchema)
@blp.doc(responses=error_responses(409, 413, 415, 422))
def import_enterprises(args, files):
    """导入企业或指标 / Import enterprises or indicators from CSV/XLSX, with a per-row error report."""
    return importing.import_file(actor(), kind=args["kind"], stream=files["file"].stream, partial=args["partial"])


@blp.route("/enterprises/export", methods=["GET"])
@roles_required(Role.MANAGER, Role.ADMIN)
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(
    responses={"200": {"description": "The file", "content": {tabular.CSV_MIMETYPE: {}, tabular.XLSX_MIMETYPE: {}}}}
)
def export_enterprises(args):
    """导出企业或指标 / Export enterprises or indicators as CSV or XLSX, in the shape the import reads."""
    exported = exporting.export(actor(), **args)
    return exported.response()
