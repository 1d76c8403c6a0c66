from __future__ import annotations

from marshmallow import fields, validate

from service_app.auth.models import DEVICE_PLATFORMS, DEVICE_PROVIDERS, ROLE_LABELS, ROLE_VALUES, SMS_PURPOSES, Role
from service_app.common.pagination import PageArgsSchema
from service_app.common.schemas import AwareDateTime, Id, Schema, Text

MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"


def mobile(**kwargs) -> Text:
    """A mainland China mobile number (11 digits, 13x-19x): where SMS codes go."""
    return Text(validate=validate.Regexp(MOBILE_PATTERN), metadata={"example": "13800138000"}, **kwargs)


class LoginSchema(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class UserSchema(Schema):
    """What any client may see of an account (never the password hash)."""

    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    role_label = fields.Method("get_role_label", dump_only=True, metadata={"type": "string"})
    enterprise_id = fields.Integer(dump_only=True, allow_none=True)
    department_id = fields.Integer(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)
    title = fields.String(dump_only=True, allow_none=True)
    must_change_password = fields.Boolean(dump_only=True)

    def get_role_label(self, user) -> str:
        return ROLE_LABELS[Role(user.role)]


class AdminUserSchema(UserSchema):
    is_active = fields.Boolean(dump_only=True)
    created_at = AwareDateTime(dump_only=True)
    last_login_at = AwareDateTime(dump_only=True, allow_none=True)


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Access token lifetime in seconds"})
    user = fields.Nested(UserSchema, required=True)
    password_change_required = fields.Boolean(
        required=True,
        metadata={"description": "true: every endpoint but /me, /me/password, /auth/refresh and /auth/logout "
                  "answers 403 password_change_required until the password is changed"},
    )


class UserCreateSchema(Schema):
    username = Text(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))
    enterprise_id = Id(load_default=None, allow_none=True)
    department_id = Id(load_default=None, allow_none=True)
    phone = mobile(load_default=None, allow_none=True)
    title = Text(load_default=None, allow_none=True, validate=validate.Length(max=64))


class UserUpdateSchema(Schema):
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=128))
    name = Text(validate=validate.Length(min=1, max=64))
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    enterprise_id = Id(allow_none=True)
    department_id = Id(allow_none=True)
    phone = mobile(allow_none=True)
    title = Text(allow_none=True, validate=validate.Length(max=64))
    is_active = fields.Boolean()


class UserQuerySchema(PageArgsSchema):
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    q = Text(validate=validate.Length(min=1, max=64))
    is_active = fields.Boolean()


class MeUpdateSchema(Schema):
    name = Text(validate=validate.Length(min=1, max=64))
    phone = mobile(allow_none=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))


class SmsCodeRequestSchema(Schema):
    phone = mobile(required=True)
    purpose = fields.String(required=True, validate=validate.OneOf(SMS_PURPOSES))


class SmsCodeAcceptedSchema(Schema):
    """The same answer whether or not the number has an account, and whether or not a code was sent."""

    expires_in = fields.Integer(required=True, metadata={"description": "Seconds a code stays valid"})
    resend_after = fields.Integer(
        required=True, metadata={"description": "Seconds before another code may be asked for"}
    )


SMS_CODE = validate.Regexp(r"^[0-9]{6}$")


class SmsLoginSchema(Schema):
    phone = mobile(required=True)
    code = fields.String(required=True, validate=SMS_CODE)


class PasswordResetSchema(Schema):
    phone = mobile(required=True)
    code = fields.String(required=True, validate=SMS_CODE)
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))


class LogoutSchema(Schema):
    device_id = Id(load_default=None, metadata={"description": "This phone's device: it stops receiving pushes"})


class DeviceCreateSchema(Schema):
    platform = fields.String(required=True, validate=validate.OneOf(DEVICE_PLATFORMS))
    provider = fields.String(required=True, validate=validate.OneOf(DEVICE_PROVIDERS))
    token = Text(required=True, validate=validate.Length(min=1, max=255), metadata={"description": "The provider's id"})
    app_version = Text(load_default=None, validate=validate.Length(max=32))
    locale = fields.String(
        load_default=None,
        validate=[validate.Length(max=16), validate.Regexp(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")],
        metadata={"description": "Language of the push text, e.g. zh-CN or en (default zh-CN)"},
    )


class DeviceSchema(Schema):
    id = fields.Integer(dump_only=True)
    platform = fields.String(dump_only=True)
    provider = fields.String(dump_only=True)
    token = fields.String(dump_only=True)
    app_version = fields.String(dump_only=True, allow_none=True)
    locale = fields.String(dump_only=True, allow_none=True)
    is_active = fields.Boolean(dump_only=True)
    created_at = AwareDateTime(dump_only=True)
    updated_at = AwareDateTime(dump_only=True)
