"""Admins issue, list and revoke partner systems' API keys for the Open311 gateway."""

from __future__ import annotations

from flask.views import MethodView

from service_app.auth.models import Role
from service_app.auth.permissions import actor, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.open311 import clients
from service_app.open311.schemas import ApiClientCreateSchema, ApiClientSchema, IssuedApiClientSchema

blp = Blueprint("api_clients", __name__, url_prefix="/api/v1", description="Open311 合作系统密钥 / Partner API clients")


@blp.route("/api-clients")
class ApiClients(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, ApiClientSchema(many=True))
    def get(self):
        """合作系统列表 / Partner API clients, revoked ones included."""
        return clients.list_clients()

    # No Idempotency-Key replay here: a stored replay would keep the key in clear text.
    @roles_required(Role.ADMIN)
    @blp.arguments(ApiClientCreateSchema)
    @blp.response(201, IssuedApiClientSchema)
    @blp.doc(responses=error_responses(409, 422))
    def post(self, data):
        """发放密钥 / Issue a key (shown once; stored hashed)."""
        return clients.issue_client(actor=actor(), **data)


@blp.route("/api-clients/<int:client_id>", methods=["DELETE"])
@roles_required(Role.ADMIN)
@blp.response(204)
@blp.doc(responses=error_responses(404))
def revoke(client_id):
    """吊销密钥 / Revoke a key at once."""
    clients.revoke_client(client_id=client_id)
