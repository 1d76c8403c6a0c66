"""Authorisation matrix, generated from the route table (OWASP API1 BOLA / API5 BFLA / API3).

RULES says which roles may call each endpoint. Every served /api/v1 route must have a rule, so a
new endpoint without one fails here. For every endpoint and every role outside its rule the answer
is 403 (401 without a token) — before the body is even read.
"""

from __future__ import annotations

import re

from service_app.auth.models import Role
from tests.helpers import assert_error

E, C, D, M, A = (Role.ENTERPRISE.value, Role.CADRE.value, Role.DEPARTMENT.value, Role.MANAGER.value, Role.ADMIN.value)
ALL = frozenset({E, C, D, M, A})
PUBLIC = None  # no token needed

RULES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/health/ready"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,  # takes the refresh token itself
    ("POST", "/api/v1/auth/logout"): ALL,
    ("GET", "/api/v1/me"): ALL,
    ("PATCH", "/api/v1/me"): ALL,
    ("POST", "/api/v1/me/password"): ALL,
    ("POST", "/api/v1/auth/sms-code"): PUBLIC,
    ("POST", "/api/v1/auth/login/sms"): PUBLIC,
    ("POST", "/api/v1/auth/password/reset"): PUBLIC,
    ("GET", "/api/v1/users"): frozenset({A}),
    ("POST", "/api/v1/users"): frozenset({A}),
    ("GET", "/api/v1/users/<int:user_id>"): frozenset({A}),
    ("PATCH", "/api/v1/users/<int:user_id>"): frozenset({A}),
    ("GET", "/api/v1/parks"): ALL,
    ("GET", "/api/v1/chains"): ALL,
    ("GET", "/api/v1/departments"): ALL,
    ("GET", "/api/v1/categories"): ALL,
    ("GET", "/api/v1/enterprises"): ALL,
    ("POST", "/api/v1/enterprises"): frozenset({A}),
    ("GET", "/api/v1/enterprises/<int:enterprise_id>"): ALL,
    ("PATCH", "/api/v1/enterprises/<int:enterprise_id>"): frozenset({E, A}),
    ("GET", "/api/v1/enterprises/<int:enterprise_id>/history"): frozenset({M, A}),
    ("GET", "/api/v1/links"): frozenset({A, M}),
    ("POST", "/api/v1/links"): frozenset({A}),
    ("DELETE", "/api/v1/links/<int:link_id>"): frozenset({A}),
    ("POST", "/api/v1/visits/check-in"): frozenset({C}),
    ("POST", "/api/v1/visits/<int:visit_id>/check-out"): frozenset({C}),
    ("POST", "/api/v1/visits/<int:visit_id>/review"): frozenset({M}),
    ("GET", "/api/v1/visits"): frozenset({C, M}),
    ("GET", "/api/v1/visits/<int:visit_id>"): frozenset({C, M}),
    ("GET", "/api/v1/visits/coverage"): frozenset({C, M}),
    ("GET", "/api/v1/enterprises/<int:enterprise_id>/indicators"): ALL,
    ("POST", "/api/v1/enterprises/<int:enterprise_id>/indicators"): frozenset({E, A}),
    ("GET", "/api/v1/enterprises/rankings"): frozenset({M, A}),
    ("POST", "/api/v1/enterprises/import"): frozenset({A}),
    ("GET", "/api/v1/enterprises/export"): frozenset({M, A}),
    ("GET", "/api/v1/problems"): frozenset({E, C, D, M}),
    ("POST", "/api/v1/problems"): frozenset({E, C}),
    ("GET", "/api/v1/problems/<int:problem_id>"): frozenset({E, C, D, M}),
    ("GET", "/api/v1/problems/<int:problem_id>/events"): frozenset({E, C, D, M}),
    ("POST", "/api/v1/problems/<int:problem_id>/rating"): frozenset({E}),
    ("POST", "/api/v1/problems/<int:problem_id>/accept"): frozenset({C, M}),
    ("POST", "/api/v1/problems/<int:problem_id>/reject"): frozenset({C, M}),
    ("POST", "/api/v1/problems/<int:problem_id>/dispatch"): frozenset({C, M}),
    ("POST", "/api/v1/problems/<int:problem_id>/claim"): frozenset({D}),
    ("POST", "/api/v1/problems/<int:problem_id>/return"): frozenset({D}),
    ("POST", "/api/v1/problems/<int:problem_id>/resolve"): frozenset({C, D}),
    ("POST", "/api/v1/problems/<int:problem_id>/supervise"): frozenset({M}),
    ("POST", "/api/v1/problems/<int:problem_id>/extend"): frozenset({M}),
    ("POST", "/api/v1/problems/<int:problem_id>/comment"): frozenset({E, C, D, M}),
    ("POST", "/api/v1/problems/<int:problem_id>/withdraw"): frozenset({E}),
    ("POST", "/api/v1/problems/<int:problem_id>/assign"): frozenset({D}),
    ("POST", "/api/v1/problems/<int:problem_id>/request_info"): frozenset({C, D}),
    ("POST", "/api/v1/problems/<int:problem_id>/supply_info"): frozenset({E}),
    ("POST", "/api/v1/problems/<int:problem_id>/request_extension"): frozenset({C, D}),
    ("POST", "/api/v1/problems/<int:problem_id>/approve_extension"): frozenset({M}),
    ("POST", "/api/v1/problems/<int:problem_id>/deny_extension"): frozenset({M}),
    ("POST", "/api/v1/problems/<int:problem_id>/urge"): frozenset({E}),
    ("GET", "/api/v1/calendar/<int:year>"): ALL,
    ("PUT", "/api/v1/calendar/<int:year>"): frozenset({A}),
    ("GET", "/api/v1/stats/summary"): frozenset({C, D, M}),
    ("GET", "/api/v1/stats/by/<any(category,department,park,chain,cadre):dimension>"): frozenset({C, D, M}),
    ("GET", "/api/v1/stats/trend"): frozenset({C, D, M}),
    ("GET", "/api/v1/stats/common-problems"): frozenset({C, D, M}),
    ("GET", "/api/v1/stats/export"): frozenset({C, D, M}),
    ("POST", "/api/v1/stats/refresh"): frozenset({M, A}),
    ("GET", "/api/v1/admin/job-runs"): frozenset({A}),
    ("POST", "/api/v1/attachments"): frozenset({E, C, D, M}),
    ("GET", "/api/v1/attachments/<int:attachment_id>"): ALL,
    ("GET", "/api/v1/attachments/<int:attachment_id>/meta"): ALL,
    ("GET", "/api/v1/me/notifications"): ALL,
    ("POST", "/api/v1/me/notifications/<int:notification_id>/read"): ALL,
    ("POST", "/api/v1/me/notifications/read-all"): ALL,
    ("GET", "/api/v1/me/todo"): ALL,
    ("GET", "/api/v1/me/devices"): ALL,
    ("POST", "/api/v1/me/devices"): ALL,
    ("DELETE", "/api/v1/me/devices/<int:device_id>"): ALL,
    ("GET", "/api/v1/notifications/failed"): frozenset({A}),
    ("GET", "/api/v1/api-clients"): frozenset({A}),
    ("POST", "/api/v1/api-clients"): frozenset({A}),
    ("DELETE", "/api/v1/api-clients/<int:client_id>"): frozenset({A}),
}


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            routes |= {(method, rule.rule) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_every_endpoint_has_a_rule(app):
    missing = served_routes(app) - set(RULES)
    stale = set(RULES) - served_routes(app)
    assert not missing, f"endpoints without an authorisation rule: {sorted(missing)}"
    assert not stale, f"rules for endpoints that are not served: {sorted(stale)}"


def _concrete(path: str) -> str:
    path = re.sub(r"<any\(([a-z_]+)[^)]*\):[a-z_]+>", r"\1", path)
    return re.sub(r"<int:[a-z_]+>", "1", re.sub(r"<(?:string:)?[a-z_]+>", "x", path))


def test_roles_outside_the_rule_are_refused(client, role_headers):
    checked = 0
    for (method, path), allowed in sorted(RULES.items()):
        if allowed is PUBLIC:
            continue
        url = _concrete(path)
        assert_error(client.open(url, method=method), 401)
        for role, headers in role_headers.items():
            if role in allowed:
                continue
            response = client.open(url, method=method, headers=headers)
            assert response.status_code == 403, (method, path, role, response.status_code, response.get_json())
            checked += 1
    print(f"\nBFLA cases checked: {checked} (+ {sum(1 for a in RULES.values() if a is not None)} anonymous)")
    assert checked > 0
