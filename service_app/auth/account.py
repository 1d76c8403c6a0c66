"""What people do to their own account: change their password, their name and their phone.

Every public function is one unit of work and commits once.
"""

from __future__ import annotations

from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError

from service_app.auth import policy, throttle
from service_app.auth.models import AuthSession, User
from service_app.auth.passwords import hash_password, verify_password
from service_app.auth.service import ensure_phone_free, revoke_sessions
from service_app.common.i18n import bilingual
from service_app.common.time import utcnow
from service_app.errors import Conflict, ValidationFailed
from service_app.extensions import db


def set_own_password(user: User, new_password: str) -> None:
    """Store a password the owner chose (policy checked by the caller); it clears must-change."""
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = utcnow()


def change_password(
    *, user: User, current_password: str, new_password: str, session_id: str, client_address: str
) -> None:
    """Check the current password (a wrong one counts as a failed login), apply the policy to the
    new one, store it, and end every other session of the user; this one stays logged in."""
    throttle.ensure_login_allowed(username=user.username, address=client_address)
    if not verify_password(user.password_hash, current_password):
        throttle.record_failed_login(username=user.username, address=client_address)
        raise ValidationFailed(
            errors={"current_password": [bilingual("当前密码不正确", "The current password is wrong")]}
        )
    policy.check_password(new_password, username=user.username, field="new_password")
    if verify_password(user.password_hash, new_password):
        raise ValidationFailed(
            errors={"new_password": [bilingual("新密码不能与当前密码相同", "Must differ from the current password")]},
            extra={"password_rule": "same_as_current"},
        )
    set_own_password(user, new_password)
    revoke_sessions(and_(AuthSession.user_id == user.id, AuthSession.id != session_id), reason="password_changed")
    db.session.commit()


# A field left out of PATCH /me keeps its value (None would clear the phone).
KEEP: object = object()


def update_profile(*, user: User, name: str | object = KEEP, phone: str | None | object = KEEP) -> User:
    """Change the caller's display name and mobile number (unique: SMS codes go to it)."""
    if name is not KEEP:
        user.name = name
    if phone is not KEEP:
        ensure_phone_free(phone, except_user_id=user.id)
        user.phone = phone
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "phone_taken", errors={"phone": [bilingual("该手机号已被其他账号使用", "Another account has this number")]}
        ) from None
    return user
