"""Accounts and tokens: every public function is one unit of work and commits once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import Select, bindparam, select, update

from service_app.auth import devices, policy, throttle
from service_app.auth.models import AuthSession, Role, User
from service_app.auth.passwords import burn_verification, hash_password, needs_rehash, verify_password
from service_app.common.i18n import bilingual
from service_app.common.pagination import Page, keyset_page
from service_app.common.patch import UNCHANGED, sent
from service_app.common.references import check_references
from service_app.common.search import contains_text
from service_app.common.time import utcnow
from service_app.common.transactions import attach_row, commit_or_conflict, execute
from service_app.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from service_app.extensions import db


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    token_type: str = "Bearer"
    password_change_required: bool = False


def _issue(user: User, session: AuthSession) -> TokenPair:
    access = create_access_token(
        identity=str(user.id), additional_claims={"role": user.role, "sid": session.id}
    )
    refresh = create_refresh_token(
        identity=str(user.id), additional_claims={"sid": session.id, "jti": session.refresh_jti}
    )
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return TokenPair(
        access, refresh, int(expires.total_seconds()), user, password_change_required=user.must_change_password
    )


def login(*, username: str, password: str, client_address: str, user_agent: str | None) -> TokenPair:
    """Check the credentials and open a session; 401 for any failure, without saying which part.

    Failures are counted by `throttle` (429 for an exhausted username+address pair or address).
    """
    username = username.strip().lower()
    throttle.ensure_login_allowed(username=username, address=client_address)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        burn_verification(password)
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        throttle.record_failed_login(username=username, address=client_address)
        raise Unauthorized("bad_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    pair = open_session(user, client_address=client_address, user_agent=user_agent)
    db.session.commit()
    return pair


def open_session(user: User, *, client_address: str | None, user_agent: str | None) -> TokenPair:
    """A new login session of `user` and its token pair, added to the transaction (the caller commits)."""
    now = utcnow()
    session = AuthSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        refresh_jti=str(uuid.uuid4()),
        created_at=now,
        expires_at=now + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        client_address=(client_address or "")[:64] or None,
        user_agent=(user_agent or "")[:255] or None,
    )
    user.last_login_at = now
    db.session.add(session)
    return _issue(user, session)


def refresh(*, user: User, jwt_payload: dict[str, Any]) -> TokenPair:
    """Rotate: the presented refresh token was checked by `check_token`; issue a new pair."""
    session = db.session.get(AuthSession, jwt_payload["sid"], with_for_update=True)
    if session is None or session.revoked_at is not None or session.refresh_jti != jwt_payload["jti"]:
        raise Unauthorized("token_revoked")
    session.refresh_jti = str(uuid.uuid4())
    session.refreshed_at = utcnow()
    session.expires_at = session.refreshed_at + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    pair = _issue(user, session)
    db.session.commit()
    return pair


def logout(*, jwt_payload: dict[str, Any], device_id: int | None = None) -> None:
    """Revoke the session the token belongs to: its access and refresh tokens stop working.

    With `device_id`, that device of the caller's is removed too, so the phone gets no more pushes
    (an id that is not the caller's changes nothing: logging out never fails on it).
    """
    revoke_sessions(AuthSession.id == jwt_payload["sid"], reason="logout")
    if device_id is not None:
        devices.forget_device(user_id=int(jwt_payload["sub"]), device_id=device_id)
    db.session.commit()


def revoke_sessions(condition, *, reason: str) -> None:
    """Revoke the sessions matching `condition` (the caller commits)."""
    db.session.execute(
        update(AuthSession)
        .where(condition, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )


@cache
def _session_check() -> Select:
    """Built once per process with bound parameters: SQLAlchemy keeps the statement's cache key, which
    it would otherwise derive again, node by node, at every request. The user's columns in table
    order (`attach_row`), then the session's two."""
    users = User.__table__
    return (
        select(users, AuthSession.revoked_at, AuthSession.refresh_jti)
        .join(AuthSession, AuthSession.user_id == users.c.id)
        .where(users.c.id == bindparam("user_id"), AuthSession.id == bindparam("session_id"))
    )


def check_token(jwt_payload: dict[str, Any]) -> bool:
    """True when the token must be refused: unknown or revoked session, disabled user, used refresh.

    One statement per request: the user and its session are read together, as a Core row on the
    session's connection, and the user built from it is kept for `current_user`. A refresh token
    presented after it was rotated revokes its whole session.
    """
    try:
        user_id, session_id = int(jwt_payload["sub"]), str(jwt_payload["sid"])
    except (KeyError, TypeError, ValueError):
        return True
    db.session.flush()  # what the ORM's autoflush did: the row must show what this session changed
    row = execute(_session_check(), {"user_id": user_id, "session_id": session_id}).first()
    if row is None:
        return True
    *user_values, revoked_at, refresh_jti = row
    if revoked_at is not None or not row.is_active:
        return True
    if jwt_payload.get("type") == "refresh" and jwt_payload.get("jti") != refresh_jti:
        revoke_sessions(AuthSession.id == session_id, reason="refresh_reuse")
        db.session.commit()
        return True
    # Built from the row without the ORM's execute and entity load (their CPU is most of this
    # check's), as the ORM would have loaded it: persistent, in the identity map.
    g._auth_user = attach_row(User, user_values, key=user_id)
    return False


def loaded_user() -> User | None:
    return g.get("_auth_user")


# --- administration of accounts ---------------------------------------------------------------

def _check_role_binding(role: str, enterprise_id: int | None, department_id: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if role == Role.ENTERPRISE.value and enterprise_id is None:
        errors["enterprise_id"] = [bilingual("企业账号须关联企业", "Required for enterprise accounts")]
    if role == Role.DEPARTMENT.value and department_id is None:
        errors["department_id"] = [bilingual("部门账号须关联职能部门", "Required for department accounts")]
    if role != Role.ENTERPRISE.value and enterprise_id is not None:
        errors["enterprise_id"] = [
            bilingual("仅企业账号可关联企业", "Only enterprise accounts belong to an enterprise")
        ]
    if role != Role.DEPARTMENT.value and department_id is not None:
        errors["department_id"] = [bilingual("仅部门账号可关联部门", "Only department accounts belong to a department")]
    if errors:
        raise ValidationFailed(errors=errors)


def build_user(
    *,
    username: str,
    password: str,
    name: str,
    role: str,
    enterprise_id: int | None = None,
    department_id: int | None = None,
    phone: str | None = None,
    title: str | None = None,
    must_change_password: bool = False,
) -> User:
    """A new, validated user added to the session (not committed): seeds and services share it."""
    policy.check_password(password, username=username, field="password")
    _check_role_binding(role, enterprise_id, department_id)
    check_references(
        enterprise_id=(User.enterprise_id, enterprise_id), department_id=(User.department_id, department_id)
    )
    user = User(
        username=username.strip().lower(),
        name=name,
        role=role,
        password_hash=hash_password(password),
        enterprise_id=enterprise_id,
        department_id=department_id,
        phone=phone,
        title=title,
        must_change_password=must_change_password,
    )
    db.session.add(user)
    return user


def _username_taken() -> Conflict:
    return Conflict("username_taken", errors={"username": [bilingual("用户名已存在", "Already taken")]})


def ensure_phone_free(phone: str | None, *, except_user_id: int | None = None) -> None:
    """409 naming `phone` when another account has this mobile number (SMS codes go to one person)."""
    if phone is None:
        return
    query = select(User.id).where(User.phone == phone)
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            "phone_taken", errors={"phone": [bilingual("该手机号已被其他账号使用", "Another account has this number")]}
        )


def create_user(
    *,
    username: str,
    password: str,
    name: str,
    role: str,
    enterprise_id: int | None = None,
    department_id: int | None = None,
    phone: str | None = None,
    title: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an account; a taken username or phone is a 409."""
    if db.session.scalar(select(User.id).where(User.username == username.strip().lower())):
        raise _username_taken()
    ensure_phone_free(phone)
    user = build_user(
        username=username,
        password=password,
        name=name,
        role=role,
        enterprise_id=enterprise_id,
        department_id=department_id,
        phone=phone,
        title=title,
        must_change_password=must_change_password,
    )
    commit_or_conflict(_username_taken())
    return user


def update_user(
    *,
    user_id: int,
    password: str | None = None,
    name: str = UNCHANGED,
    role: str = UNCHANGED,
    enterprise_id: int | None = UNCHANGED,
    department_id: int | None = UNCHANGED,
    phone: str | None = UNCHANGED,
    title: str | None = UNCHANGED,
    is_active: bool = UNCHANGED,
) -> User:
    """Change an account; disabling it or changing its password or role ends its sessions now."""
    user = get_user(user_id=user_id)
    changes = sent(
        name=name,
        role=role,
        enterprise_id=enterprise_id,
        department_id=department_id,
        phone=phone,
        title=title,
        is_active=is_active,
    )
    _check_role_binding(
        changes.get("role", user.role),
        changes.get("enterprise_id", user.enterprise_id),
        changes.get("department_id", user.department_id),
    )
    check_references(
        enterprise_id=(User.enterprise_id, changes.get("enterprise_id")),
        department_id=(User.department_id, changes.get("department_id")),
    )
    if "phone" in changes:
        ensure_phone_free(changes["phone"], except_user_id=user.id)
    end_sessions = changes.get("is_active") is False or changes.get("role", user.role) != user.role
    if password is not None:
        policy.check_password(password, username=user.username, field="password")
        user.password_hash = hash_password(password)
        # A password an admin set is a reset: its owner must choose their own at the next login.
        user.must_change_password = True
        end_sessions = True
    for key, value in changes.items():
        setattr(user, key, value)
    if end_sessions:
        revoke_sessions(AuthSession.user_id == user.id, reason="account_changed")
    db.session.commit()
    return user


def get_user(*, user_id: int) -> User:
    """One account (for admins); 404 when there is none."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def list_users(
    *,
    role: str | None = None,
    is_active: bool | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """Accounts in id order, filtered by role, state and a username or name fragment."""
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if is_active is not None:
        query = query.where(User.is_active == is_active)
    if q is not None:
        query = query.where(contains_text(User.username, User.name, text=q))
    return keyset_page(
        query, columns=[User.id], kinds=[int], limit=limit, cursor=cursor, descending=False, session=db.session
    )


def purge_expired_sessions(*, now: datetime | None = None) -> int:
    """Delete sessions whose refresh token has expired (revoked or not): nothing can use them."""
    from sqlalchemy import delete

    result = db.session.execute(delete(AuthSession).where(AuthSession.expires_at < (now or utcnow())))
    db.session.commit()
    return result.rowcount or 0
