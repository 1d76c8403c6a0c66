"""Reference lists and cadre links (enterprises have their own blueprint: service_app.enterprises)."""

from __future__ import annotations

from flask.views import MethodView

from service_app.auth.models import Role
from service_app.auth.permissions import login_required, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.pagination import page_schema
from service_app.org import service
from service_app.org.schemas import (
    CategorySchema,
    ChainSchema,
    DepartmentSchema,
    LinkCreateSchema,
    LinkQuerySchema,
    LinkSchema,
    ParkSchema,
)

blp = Blueprint(
    "org", __name__, url_prefix="/api/v1", description="园区、产业链、部门、类别、企业与结对 / Organisation"
)


@blp.route("/parks", methods=["GET"])
@login_required
@blp.response(200, ParkSchema(many=True))
def parks():
    """Parks of the zone."""
    return service.list_parks()


@blp.route("/chains", methods=["GET"])
@login_required
@blp.response(200, ChainSchema(many=True))
def chains():
    """Industry chains."""
    return service.list_chains()


@blp.route("/departments", methods=["GET"])
@login_required
@blp.response(200, DepartmentSchema(many=True))
def departments():
    """Government departments that handle dispatched problems."""
    return service.list_departments()


@blp.route("/categories", methods=["GET"])
@login_required
@blp.response(200, CategorySchema(many=True))
def categories():
    """Problem categories with their default department and SLA hours."""
    return service.list_categories()


LinkPageSchema = page_schema(LinkSchema, "LinkPage")


@blp.route("/links")
class Links(MethodView):
    @roles_required(Role.ADMIN, Role.MANAGER)
    @blp.arguments(LinkQuerySchema, location="query")
    @blp.response(200, LinkPageSchema)
    def get(self, args):
        """Cadre ↔ enterprise pairings."""
        return service.list_links(**args)

    @roles_required(Role.ADMIN)
    @blp.arguments(LinkCreateSchema)
    @blp.response(201, LinkSchema)
    @blp.doc(responses=error_responses(409, 422))
    def post(self, data):
        """Link a cadre to an enterprise."""
        return service.create_link(**data)


@blp.route("/links/<int:link_id>", methods=["DELETE"])
@roles_required(Role.ADMIN)
@blp.response(204)
@blp.doc(responses=error_responses(404))
def end_link(link_id):
    """End a pairing (kept as history)."""
    service.end_link(link_id)
