"""Users and their login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db


class Role(str, enum.Enum):
    ENTERPRISE = "enterprise"
    CADRE = "cadre"
    DEPARTMENT = "department"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ENTERPRISE: "企业",
    Role.CADRE: "联企干部",
    Role.DEPARTMENT: "职能部门",
    Role.MANAGER: "领导/督办",
    Role.ADMIN: "管理员",
}
ROLE_VALUES = tuple(role.value for role in Role)


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('enterprise', 'cadre', 'department', 'manager', 'admin')", name="role_valid"
        ),
        CheckConstraint("role != 'enterprise' OR enterprise_id IS NOT NULL", name="enterprise_user_has_enterprise"),
        CheckConstraint("role != 'department' OR department_id IS NOT NULL", name="department_user_has_department"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # A mobile number (SMS login and password reset), so one person's: unique.
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    title: Mapped[str | None] = mapped_column(String(64))
    # A department user who leads it: assigns its problems to colleagues (DESIGN §11).
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an admin creates the account or resets its password; cleared when its owner sets one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enterprise = relationship("Enterprise", foreign_keys=[enterprise_id], lazy="raise")
    department = relationship("Department", foreign_keys=[department_id], lazy="raise")

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class AuthSession(db.Model):
    """One login: the family of an access/refresh token pair and all its rotations.

    Access and refresh tokens carry the session id (`sid`). Logout revokes the session, which
    invalidates both at once; refresh rotates `refresh_jti`, so a used refresh token stops working,
    and presenting one again revokes the whole session (refresh-token reuse detection).
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


SMS_PURPOSES = ("login", "reset")


class SmsCode(db.Model):
    """A one-time code sent by SMS (手机验证码) for logging in or resetting the password.

    Only an HMAC of the code is stored. A code is good for a few minutes and a few tries; a newer
    code for the same phone and purpose replaces it, and using it (or burning it) sets `used_at`.
    """

    __tablename__ = "sms_codes"
    __table_args__ = (
        CheckConstraint("purpose IN ('login', 'reset')", name="purpose_valid"),
        Index("ix_sms_codes_phone_purpose_id", "phone", "purpose", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_address: Mapped[str | None] = mapped_column(String(64))


# Devices a user receives pushes on. A provider is the push service that knows the device's token;
# each provider serves only some platforms (JPush: Android, iOS and HarmonyOS, not browsers).
DEVICE_PLATFORMS = ("android", "ios", "harmony", "web")
PROVIDER_PLATFORMS: dict[str, tuple[str, ...]] = {"jpush": ("android", "ios", "harmony")}
DEVICE_PROVIDERS = tuple(PROVIDER_PLATFORMS)


class Device(db.Model):
    """A phone or browser signed in as a user: pushes for that user go to its token.

    A token belongs to one device row; registering it again (even as another user) moves the row to
    the caller, so the previous owner stops receiving pushes on that phone. `is_active` turns off when
    the provider answers that the token is no longer valid.
    """

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(255), unique=True)
    app_version: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
