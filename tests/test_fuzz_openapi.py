"""Schema fuzzing: schemathesis drives every documented operation, as every role, in process.

Checks: no 5xx, status codes and content types documented, bodies conform to the documented
schemas. A second test asserts that the documented routes and the served routes are the same.
FUZZ_EXAMPLES bounds the examples per operation and role (CI time); the run is derandomised.
"""

from __future__ import annotations

import os
import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service_app.auth.models import Role
from service_app.extensions import limiter
from tests.factories import (
    AdminFactory,
    CadreFactory,
    DepartmentUserFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
# Token lifecycle endpoints would revoke the very token the fuzzer is using; tests/test_auth.py covers them.
UNFUZZED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/refresh")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _make(role: str):
    if role == "anonymous":
        return None
    if role == Role.ENTERPRISE.value:
        return EnterpriseUserFactory()
    if role == Role.CADRE.value:
        cadre = CadreFactory()
        LinkFactory(cadre=cadre)
        return cadre
    if role == Role.DEPARTMENT.value:
        return DepartmentUserFactory()
    if role == Role.ADMIN.value:
        return AdminFactory()
    return UserFactory(role=role)


def _fuzz_operation(operation, role_headers: dict[str, dict]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case):
        limiter.reset()
        for headers in role_headers.values():
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_as_every_role(app, role_headers):
    """Each generated request is sent once as every role and anonymously; failures are collected per operation."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, fuzzed = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in UNFUZZED:
            continue
        fuzzed += 1
        try:
            _fuzz_operation(operation, role_headers)
        except Exception as error:  # noqa: BLE001 - collect every operation's failure before failing
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:2000]}")
    print(f"fuzzed {fuzzed} operations x {len(role_headers)} roles x up to {EXAMPLES} examples")
    assert not failures, "\n\n".join(failures)


def test_documented_routes_are_the_served_routes(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
        served |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
