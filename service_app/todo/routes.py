"""GET /me/todo: the badges of the app."""

from __future__ import annotations

from service_app.auth.permissions import actor, login_required
from service_app.common.api import Blueprint
from service_app.todo import service
from service_app.todo.schemas import TodoSchema

blp = Blueprint("todo", __name__, url_prefix="/api/v1", description="待办 / To-do counts")


@blp.route("/me/todo", methods=["GET"])
@blp.doc(operationId="getTodo")
@login_required
@blp.response(200, TodoSchema)
def todo():
    """待办数量 / The caller's to-do counts and unread notices (one statement).

    当前用户下一步要处理的问题数量（按类型）和未读消息数，供 App 显示角标。
    Counts of the problems the caller acts on next, by kind, and of unread notices: the app's badges.
    """
    return service.todo_counts(actor=actor())
