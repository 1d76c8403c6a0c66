"""Liveness and readiness probes."""

from __future__ import annotations

from marshmallow import fields

from service_app.common.api import Blueprint, error_responses
from service_app.common.schemas import Schema
from service_app.health import service

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="健康检查 / Health")


class HealthSchema(Schema):
    status = fields.String(required=True)


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema)
def health():
    """Liveness: the process answers."""
    return {"status": "ok"}


@blp.route("/health/ready", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.doc(responses=error_responses(503))
def ready():
    """Readiness: the database answers."""
    service.check_database()
    return {"status": "ok"}
