"""Schema fuzzing: schemathesis drives every documented operation, as every role, in process.

Checks: no 5xx, status codes and content types documented, bodies conform to the documented
schemas. A second test asserts that the documented routes and the served routes are the same.
FUZZ_EXAMPLES bounds the examples per operation and role (CI time); the run is derandomised.
Its date and date-time formats also draw the calendar's boundaries (year 1 and 9999 with extreme
offsets, 1899/1900, 2099/2100); tests/test_hostile_inputs.py adds hostile strings and numbers.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.formats import get_default_format_strategies, unregister_string_format

from service_app.extensions import limiter

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
# Token lifecycle endpoints would revoke the very token the fuzzer is using; tests/test_auth.py covers them.
UNFUZZED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/refresh")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


BOUNDARY_DATE_TIMES = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "1900-01-01T00:00:00Z",
    "2099-12-31T23:59:59.999999Z", "2100-01-01T00:00:00Z",
]
BOUNDARY_DATES = ["0001-01-01", "1899-12-31", "1900-01-01", "2099-12-31", "2100-01-01", "9999-12-31"]


@pytest.fixture
def boundary_dates():
    """schemathesis' own date and date-time values, and the calendar's boundaries among them."""
    defaults = get_default_format_strategies()
    schemathesis.openapi.format("date-time", defaults["date-time"] | st.sampled_from(BOUNDARY_DATE_TIMES))
    schemathesis.openapi.format("date", defaults["date"] | st.sampled_from(BOUNDARY_DATES))
    yield
    unregister_string_format("date-time")
    unregister_string_format("date")


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


def test_every_operation_as_every_role(app, caller_headers, boundary_dates):
    """Each generated request is sent once as every role and anonymously; failures are collected per operation."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, fuzzed = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in UNFUZZED:
            continue
        fuzzed += 1
        try:
            _fuzz_operation(operation, caller_headers)
        except Exception as error:  # noqa: BLE001 - collect every operation's failure before failing
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:2000]}")
    print(f"fuzzed {fuzzed} operations x {len(caller_headers)} roles x up to {EXAMPLES} examples")
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
