"""Accounts people manage themselves: their password, name and phone; SMS codes for logging in
and for resetting a forgotten password (DESIGN §10)."""

from __future__ import annotations

from flask import current_app, request
from flask_jwt_extended import get_jwt

from service_app.auth import account, sms, sms_senders, throttle
from service_app.auth.permissions import actor, login_required_before_password_change
from service_app.auth.schemas import (
    MeUpdateSchema,
    PasswordChangeSchema,
    PasswordResetSchema,
    SmsCodeAcceptedSchema,
    SmsCodeRequestSchema,
    SmsLoginSchema,
    TokenSchema,
    UserSchema,
)
from service_app.common.api import Blueprint, error_responses
from service_app.common.net import client_address

blp = Blueprint(
    "account", __name__, url_prefix="/api/v1", description="自助账号：密码、资料、短信验证码 / Self-service accounts"
)
blp.record_once(lambda state: sms_senders.init_app(state.app))


@blp.route("/me", methods=["PATCH"])
@login_required_before_password_change
@blp.arguments(MeUpdateSchema)
@blp.response(200, UserSchema)
@blp.doc(responses=error_responses(409, 422))
def update_me(data):
    """Change the caller's name or mobile number."""
    return account.update_profile(user=actor(), **data)


@blp.route("/me/password", methods=["POST"])
@login_required_before_password_change
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.doc(responses=error_responses(422, 429))
def change_password(data):
    """Change the caller's password; the caller's other sessions end."""
    account.change_password(
        user=actor(),
        current_password=data["current_password"],
        new_password=data["new_password"],
        session_id=get_jwt()["sid"],
        client_address=client_address(),
    )


@blp.route("/auth/sms-code", methods=["POST"])
@blp.arguments(SmsCodeRequestSchema)
@blp.response(202, SmsCodeAcceptedSchema)
def request_sms_code(data):
    """Ask for an SMS code to log in or reset the password (202 whether or not the number has an account)."""
    sms.request_code(phone=data["phone"], purpose=data["purpose"], client_address=client_address())
    return {"expires_in": current_app.config["SMS_CODE_TTL_SECONDS"], "resend_after": throttle.sms_resend_seconds()}


@blp.route("/auth/login/sms", methods=["POST"])
@blp.arguments(SmsLoginSchema)
@blp.response(200, TokenSchema)
@blp.doc(responses=error_responses(401, 429))
def login_with_sms_code(data):
    """Log in with a phone number and an SMS code."""
    return sms.login_with_code(
        phone=data["phone"],
        code=data["code"],
        client_address=client_address(),
        user_agent=request.headers.get("User-Agent"),
    )


@blp.route("/auth/password/reset", methods=["POST"])
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@blp.doc(responses=error_responses(422, 429))
def reset_password(data):
    """Set a new password with an SMS reset code; every session of the account ends."""
    sms.reset_password(
        phone=data["phone"], code=data["code"], new_password=data["new_password"], client_address=client_address()
    )
