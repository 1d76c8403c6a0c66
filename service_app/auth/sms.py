"""SMS codes (手机号 + 验证码): asking for one, logging in with one, resetting a password with one.

Answers never tell whether a number has an account: asking always answers 202, and a code that is
wrong, expired, used, burnt or never sent fails the same way. A code is 6 digits, stored only as an
HMAC keyed with the app's secret (a leaked table is not a list of live codes), valid
`SMS_CODE_TTL_SECONDS`, good for `SMS_CODE_MAX_ATTEMPTS` tries — the try after those burns it — and
replaced by a newer code for the same number and purpose. How many codes a number and an address
may ask for is counted by `throttle`; wrong codes count as failed logins there too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from service_app.auth import policy, sms_senders, throttle
from service_app.auth.account import set_own_password
from service_app.auth.models import AuthSession, SmsCode, User
from service_app.auth.service import TokenPair, open_session, revoke_sessions
from service_app.common.i18n import bilingual
from service_app.common.time import utcnow
from service_app.errors import Unauthorized, ValidationFailed
from service_app.extensions import db

log = logging.getLogger(__name__)


def _digest(phone: str, purpose: str, code: str) -> str:
    key = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(*, phone: str, purpose: str, client_address: str) -> None:
    """Send a new code when `phone` is an active account's and no limit is reached; else do nothing.

    The caller answers 202 either way. The code is sent after the commit, in the background.
    """
    if not throttle.take_sms_allowance(phone=phone, address=client_address):
        log.info("sms_code_limited", extra={"purpose": purpose, "phone_tail": phone[-4:]})
        return
    user_id = db.session.scalar(select(User.id).where(User.phone == phone, User.is_active.is_(True)))
    if user_id is None:
        return
    code = f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    ttl = current_app.config["SMS_CODE_TTL_SECONDS"]
    db.session.execute(
        update(SmsCode)
        .where(SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        SmsCode(
            phone=phone,
            purpose=purpose,
            code_hash=_digest(phone, purpose, code),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            attempts=0,
            client_address=client_address[:64],
        )
    )
    db.session.commit()
    sms_senders.dispatch(
        sms_senders.SmsMessage(phone=phone, purpose=purpose, code=code, valid_minutes=max(1, ttl // 60))
    )


def _redeem(*, phone: str, purpose: str, code: str) -> User | None:
    """The active user the latest live code of (phone, purpose) belongs to, using the code up; None
    for any failure, after counting the try (the caller commits either way)."""
    row = db.session.scalar(
        select(SmsCode)
        .where(SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.used_at.is_(None))
        .order_by(SmsCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    now = utcnow()
    if row is None or row.expires_at <= now:
        return None
    if row.attempts >= current_app.config["SMS_CODE_MAX_ATTEMPTS"]:
        row.used_at = now  # tries exhausted: this try burns the code, right or wrong
        return None
    if not hmac.compare_digest(row.code_hash, _digest(phone, purpose, code)):
        row.attempts += 1
        return None
    row.used_at = now
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.is_active and user.phone == phone else None


def _sms_login_name(phone: str) -> str:
    return f"sms:{phone}"


def login_with_code(*, phone: str, code: str, client_address: str, user_agent: str | None) -> TokenPair:
    """Log in with a login code: a new session, as a password login opens; 401 like a wrong password."""
    throttle.ensure_login_allowed(username=_sms_login_name(phone), address=client_address)
    user = _redeem(phone=phone, purpose="login", code=code)
    if user is None:
        db.session.commit()  # keep the counted try
        throttle.record_failed_login(username=_sms_login_name(phone), address=client_address)
        raise Unauthorized("bad_sms_code")
    pair = open_session(user, client_address=client_address, user_agent=user_agent)
    db.session.commit()
    return pair


def reset_password(*, phone: str, code: str, new_password: str, client_address: str) -> None:
    """Set a new password with a reset code; every session of the account ends.

    A wrong, expired, used or burnt code is one 422 naming `code`. A new password the policy refuses
    is a 422 naming `new_password` that leaves the code usable for a better one.
    """
    throttle.ensure_login_allowed(username=_sms_login_name(phone), address=client_address)
    user = _redeem(phone=phone, purpose="reset", code=code)
    if user is None:
        db.session.commit()  # keep the counted try
        throttle.record_failed_login(username=_sms_login_name(phone), address=client_address)
        raise ValidationFailed(
            errors={"code": [bilingual("验证码错误或已失效", "The code is wrong or no longer valid")]}
        )
    try:
        policy.check_password(new_password, username=user.username, field="new_password")
    except ValidationFailed:
        db.session.rollback()
        raise
    set_own_password(user, new_password)
    revoke_sessions(AuthSession.user_id == user.id, reason="password_reset")
    db.session.commit()


# Expired codes stay a day, for looking into abuse, then go.
CODE_RETENTION = timedelta(days=1)


def purge_expired_codes(*, now: datetime) -> int:
    """Delete codes that expired more than `CODE_RETENTION` ago."""
    result = db.session.execute(delete(SmsCode).where(SmsCode.expires_at < now - CODE_RETENTION))
    db.session.commit()
    return result.rowcount or 0
