"""Role checks at the route and the current actor.

`@roles_required(Role.MANAGER, ...)` is the first thing a protected view runs: it verifies the
access token (401 in the one error shape), that the account need not change its password first
(403 `password_change_required`, DESIGN §10) and the caller's role (403). Object-level checks
belong to each domain's service (e.g. `org.scoping`).
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps

from flask_jwt_extended import current_user, verify_jwt_in_request

from service_app.auth.models import Role, User
from service_app.common.api import error_responses
from service_app.errors import Forbidden

ALL_ROLES = tuple(Role)


def roles_required(*roles: Role, before_password_change: bool = False) -> Callable:
    """Require a valid access token and, when roles are given, one of them (else 403).

    An account that must change its password (set by an admin) is refused (403
    `password_change_required`) unless `before_password_change`: the few endpoints it needs to do so.
    """
    allowed = {role.value for role in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request()
            user = actor()
            if user.must_change_password and not before_password_change:
                raise Forbidden("password_change_required")
            if allowed and user.role not in allowed:
                raise Forbidden()
            return view(*args, **kwargs)

        doc = deepcopy(getattr(view, "_apidoc", {}))
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        manual.setdefault("responses", {}).update(error_responses(401, *( [403] if allowed else [])))
        if allowed:
            roles_text = ", ".join(sorted(allowed))
            manual["description"] = (manual.get("description", "") + f"\n\nRoles: {roles_text}.").strip()
        wrapper._apidoc = doc
        wrapper._roles = frozenset(allowed) if allowed else frozenset(r.value for r in ALL_ROLES)
        return wrapper

    return decorator


login_required = roles_required()
# GET/PATCH /me, /me/password, /me/devices, /auth/logout: what an account that must change its password may call.
login_required_before_password_change = roles_required(before_password_change=True)


def actor() -> User:
    """The authenticated user of this request (after `roles_required`).

    The real object, not flask-jwt-extended's LocalProxy: every attribute read through the proxy
    re-resolves the JWT context, which serialising a user does dozens of times.
    """
    return current_user._get_current_object()
