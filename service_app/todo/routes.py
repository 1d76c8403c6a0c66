"""GET /me/todo: the badges of the app."""

from __future__ import annotations

from service_app.auth.permissions import actor, login_required
from service_app.common.api import Blueprint
from service_app.todo import service
from service_app.todo.schemas import TodoSchema

blp = Blueprint("todo", __name__, url_prefix="/api/v1", description="待办 / To-do counts")


@blp.route("/me/todo", methods=["GET"])
@login_required
@blp.response(200, TodoSchema)
def todo():
    """The caller's to-do counts and unread notices (one statement)."""
    return service.todo_counts(actor=actor())
