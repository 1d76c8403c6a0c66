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
    """存活检查 / Liveness: the process answers.

    进程能响应即返回 ok，不访问数据库；供负载均衡的存活探针使用。
    Answers ok without touching the database (liveness probe).
    """
    return {"status": "ok"}


@blp.route("/health/ready", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.doc(responses=error_responses(503))
def ready():
    """就绪检查 / Readiness: the database answers.

    数据库可用时返回 ok，否则 503。
    Answers ok when the database answers, 503 otherwise (readiness probe).
    """
    service.check_database()
    return {"status": "ok"}
