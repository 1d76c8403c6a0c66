"""The scheduler's run log, for administrators."""

from __future__ import annotations

from service_app.auth.models import Role
from service_app.auth.permissions import roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.pagination import page_schema
from service_app.scheduling import service
from service_app.scheduling.schemas import JobRunQuerySchema, JobRunSchema

blp = Blueprint("scheduling", __name__, url_prefix="/api/v1/admin", description="计划任务 / Scheduled jobs")

JobRunPageSchema = page_schema(JobRunSchema, "JobRunPage")


@blp.route("/job-runs", methods=["GET"])
@blp.doc(operationId="listJobRuns")
@roles_required(Role.ADMIN)
@blp.arguments(JobRunQuerySchema, location="query")
@blp.response(200, JobRunPageSchema)
@blp.doc(responses=error_responses(422))
def job_runs(args):
    """计划任务运行记录 / Runs of the scheduled jobs, newest first."""
    return service.list_runs(**args)
