"""Login, token refresh and logout, the caller's account, and account administration."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from service_app.auth import devices, service
from service_app.auth.models import Role
from service_app.auth.permissions import actor, login_required_before_password_change, roles_required
from service_app.auth.schemas import (
    AdminUserSchema,
    DeviceCreateSchema,
    DeviceSchema,
    LoginSchema,
    LogoutSchema,
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
    """账号密码登录 / Log in with username and password (429 after repeated failures from one address).

    返回访问令牌（15 分钟）和刷新令牌（30 天）；之后的请求带 `Authorization: Bearer <访问令牌>`。
    Returns an access token (15 min) and a refresh token (30 days); send the access token as Bearer.
    """
    return service.login(
        username=data["username"],
        password=data["password"],
        client_address=client_address(),
        user_agent=request.headers.get("User-Agent"),
    )


@blp.route("/auth/refresh", methods=["POST"])
@blp.doc(operationId="refreshToken")
@blp.response(200, TokenSchema)
@blp.doc(
    security=[{"bearerAuth": []}],
    responses=error_responses(401),
    description="Send the refresh token as the Bearer token. The refresh token is rotated: the one sent stops working.",
)
def refresh():
    """刷新令牌 / Exchange a refresh token for a new token pair."""
    verify_jwt_in_request(refresh=True)
    return service.refresh(user=actor(), jwt_payload=get_jwt())


@blp.route("/auth/logout", methods=["POST"])
@login_required_before_password_change
@blp.arguments(LogoutSchema, required=False)
@blp.response(204)
def logout(data):
    """退出登录 / Log out: revoke this session's access and refresh tokens.

    本会话的访问令牌和刷新令牌立即失效；带 `device_id` 时同时注销该设备，不再向它推送。
    Both tokens of this session stop working at once; with `device_id`, that phone is removed too and gets no
    more pushes.
    """
    service.logout(jwt_payload=get_jwt(), device_id=(data or {}).get("device_id"))


@blp.route("/me", methods=["GET"])
@blp.doc(operationId="getMe")
@login_required_before_password_change
@blp.response(200, UserSchema)
def me():
    """当前账号 / The caller's account.

    当前登录账号的资料、角色及所属企业或部门。
    The caller's profile, role and enterprise or department.
    """
    return actor()


UserPageSchema = page_schema(AdminUserSchema, "UserPage")


@blp.route("/users")
class Users(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """账号列表 / List accounts."""
        return service.list_users(**args)

    @roles_required(Role.ADMIN)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, AdminUserSchema)
    @blp.doc(responses=error_responses(409, 422))
    def post(self, data):
        """新建账号 / Create an account; its owner must change the password at the first login."""
        return service.create_user(**data, must_change_password=True)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, AdminUserSchema)
    @blp.doc(responses=error_responses(404))
    def get(self, user_id):
        """账号详情 / One account."""
        return service.get_user(user_id=user_id)

    @roles_required(Role.ADMIN)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, AdminUserSchema)
    @blp.doc(responses=error_responses(404, 422))
    def patch(self, data, user_id):
        """修改账号 / Change an account; disabling it ends its sessions at once."""
        return service.update_user(user_id=user_id, **data)


@blp.route("/me/devices")
class MyDevices(MethodView):
    @login_required_before_password_change
    @blp.response(200, DeviceSchema(many=True))
    def get(self):
        """我的设备 / The caller's devices that receive pushes.

        当前账号登记的、接收推送的设备。
        Devices registered by the caller; logout with `device_id` removes one.
        """
        return devices.list_devices(user=actor())

    @login_required_before_password_change
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceSchema)
    @blp.alt_response(200, schema=DeviceSchema, description="The token was known: its device is updated")
    def post(self, data):
        """登记设备 / Register this device for pushes.

        按推送令牌新增或更新（令牌转到当前账号，原账号不再收到推送）：新建 201，更新 200。
        Upsert by token: the token moves to the caller (its previous owner stops receiving pushes);
        201 new, 200 updated.
        """
        device, created = devices.register_device(user=actor(), **data)
        return device, 201 if created else 200


@blp.route("/me/devices/<int:device_id>", methods=["DELETE"])
@login_required_before_password_change
@blp.response(204)
@blp.doc(responses=error_responses(404))
def delete_device(device_id: int):
    """注销设备 / Remove one of the caller's devices.

    该设备不再收到推送；他人的设备为 404。
    It receives no more pushes; another user's device is a 404.
    """
    devices.remove_device(user=actor(), device_id=device_id)
