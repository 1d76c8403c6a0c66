"""Login, token refresh and logout, the caller's account, and account administration."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from service_app.auth import service
from service_app.auth.models import Role
from service_app.auth.permissions import actor, login_required_before_password_change, roles_required
from service_app.auth.schemas import (
    AdminUserSchema,
    LoginSchema,
    TokenSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from service_app.common.api import Blueprint, error_responses
from service_app.common.net import client_address
from service_app.common.pagination import page_schema

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="登录、令牌与账号 / Login, tokens and accounts")


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.doc(responses=error_responses(401, 429))
def login(data):
    """Log in with username and password (429 after repeated failures from one address)."""
    return service.login(
        username=data["username"],
        password=data["password"],
        client_address=client_address(),
        user_agent=request.headers.get("User-Agent"),
    )


@blp.route("/auth/refresh", methods=["POST"])
@blp.response(200, TokenSchema)
@blp.doc(
    security=[{"bearerAuth": []}],
    responses=error_responses(401),
    description="Send the refresh token as the Bearer token. The refresh token is rotated: the one sent stops working.",
)
def refresh():
    """Exchange a refresh token for a new token pair."""
    verify_jwt_in_request(refresh=True)
    return service.refresh(user=actor(), jwt_payload=get_jwt())


@blp.route("/auth/logout", methods=["POST"])
@login_required_before_password_change
@blp.response(204)
def logout():
    """Log out: revoke this session's access and refresh tokens."""
    service.logout(jwt_payload=get_jwt())


@blp.route("/me", methods=["GET"])
@login_required_before_password_change
@blp.response(200, UserSchema)
def me():
    """The caller's account."""
    return actor()


UserPageSchema = page_schema(AdminUserSchema, "UserPage")


@blp.route("/users")
class Users(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List accounts."""
        return service.list_users(**args)

    @roles_required(Role.ADMIN)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, AdminUserSchema)
    @blp.doc(responses=error_responses(409, 422))
    def post(self, data):
        """Create an account; its owner must change the password at the first login."""
        return service.create_user(**data, must_change_password=True)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, AdminUserSchema)
    @blp.doc(responses=error_responses(404))
    def get(self, user_id):
        """One account."""
        return service.get_user(user_id=user_id)

    @roles_required(Role.ADMIN)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, AdminUserSchema)
    @blp.doc(responses=error_responses(404, 422))
    def patch(self, data, user_id):
        """Change an account; disabling it ends its sessions at once."""
        return service.update_user(user_id=user_id, **data)
