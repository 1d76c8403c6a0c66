"""Input classes settled in one place each (issue 16): strings the databases cannot store, dates at
the edge of the calendar, forged cursors, loose numbers, LIKE wildcards — each a 4xx naming the
field, never a 500, whichever endpoint it reaches."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta

import pytest
from marshmallow import fields as ma_fields
from webargs.fields import DelimitedList

from service_app.common import schemas as common
from service_app.common.time import utcnow
from tests.conftest import count_queries
from tests.factories import AdminFactory, EnterpriseUserFactory, UserFactory, new_credit_code
from tests.factories_problems import make_world, problem_in
from tests.factories_visits import VisitFactory, pair
from tests.helpers import assert_error, auth_headers

LOGIN = "/api/v1/auth/login"
SURROGATE = "\ud800"


def _raw_json(document: dict) -> str:
    """JSON text with lone surrogates escaped as `\\ud800`, as a client would send them."""
    return json.dumps(document, ensure_ascii=True)


# --- strings the databases cannot store ----------------------------------------------------------


@pytest.mark.parametrize("username", [f"ent{SURROGATE}001", "ent\x00001", f"{SURROGATE}"])
def test_unstorable_login_is_422_before_any_database_work(client, app, caplog, username):
    with count_queries(app) as statements, caplog.at_level(logging.WARNING):
        body = _raw_json({"username": username, "password": "x"})
        response = client.post(LOGIN, data=body, content_type="application/json")
    body = assert_error(response, 422, "validation_failed")
    assert list(body["errors"]) == ["username"]
    assert statements == []
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_unstorable_key_is_refused_without_echoing_it(client):
    body = _raw_json({f"user{SURROGATE}": "a", "password": "x"})
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert "_schema" in assert_error(response, 422)["errors"]


def test_unstorable_strings_in_comments_visit_notes_and_queries(client, app_ctx):
    world = make_world()
    problem_id = problem_in(world, "accepted")
    cadre = auth_headers(client, world.cadre)
    comment = client.post(f"/api/v1/problems/{problem_id}/comment", data=_raw_json({"body": f"好{SURROGATE}"}),
                          content_type="application/json", headers=cadre)
    assert list(assert_error(comment, 422)["errors"]) == ["body"]
    site = pair()
    check_in = {"enterprise_id": site.enterprise.id, "lat": site.enterprise.lat, "lng": site.enterprise.lng,
                "accuracy_m": 10, "note": f"走访{SURROGATE}"}
    response = client.post("/api/v1/visits/check-in", data=_raw_json(check_in), content_type="application/json",
                           headers=auth_headers(client, site.cadre))
    assert list(assert_error(response, 422)["errors"]) == ["note"]
    nested = client.post("/api/v1/problems", data=_raw_json({"title": "标题", "description": "x", "category_id": 1,
                                                           "attachment_ids": [1, "\x00"]}),
                         content_type="application/json", headers=auth_headers(client, world.owner))
    assert assert_error(nested, 422)["errors"]["attachment_ids"] == {"1": ["不能包含空字符（NUL）"]}
    assert "q" in assert_error(client.get("/api/v1/problems?q=a%00b", headers=cadre), 422)["errors"]


# --- dates at the edge of the calendar ----------------------------------------------------------

EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "2100-01-01T00:00:00Z"]


@pytest.mark.parametrize("moment", EDGES)
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/problems?updated_since={}", "updated_since"),
        ("/api/v1/enterprises?updated_since={}", "updated_since"),
        ("/api/v1/visits?from={}", "from"),
        ("/api/v1/visits?to={}", "to"),
        ("/api/v1/stats/summary?from={}", "from"),
        ("/api/v1/stats/trend?to={}", "to"),
    ],
)
def test_dates_outside_the_calendar_are_422_in_queries(client, app_ctx, path, field, moment):
    headers = auth_headers(client, UserFactory())
    response = client.get(path.format(moment.replace("+", "%2B")), headers=headers)
    assert list(assert_error(response, 422)["errors"]) == [field]


def test_calendar_bounds_are_inclusive_then_exclusive(client, app_ctx):
    headers = auth_headers(client, UserFactory())
    assert client.get("/api/v1/problems?updated_since=1900-01-01T00:00:00Z", headers=headers).status_code == 200
    assert client.get("/api/v1/problems?updated_since=2099-12-31T23:59:59Z", headers=headers).status_code == 200
    assert client.get("/api/v1/stats/summary?from=1900-01-01&to=2099-12-31", headers=headers).status_code == 200
    assert_error(client.get("/api/v1/stats/summary?to=9999-12-31", headers=headers), 422)


@pytest.mark.parametrize("moment", EDGES)
def test_dates_outside_the_calendar_are_422_in_bodies(client, app_ctx, moment):
    world = make_world()
    problem_id = problem_in(world, "accepted")
    extend = client.post(f"/api/v1/problems/{problem_id}/extend", json={"due_at": moment, "reason": "需要协调"},
                         headers=auth_headers(client, world.manager))
    assert list(assert_error(extend, 422)["errors"]) == ["due_at"]
    site = pair()
    body = {"enterprise_id": site.enterprise.id, "lat": site.enterprise.lat, "lng": site.enterprise.lng,
            "accuracy_m": 10, "recorded_at": moment}
    check_in = client.post("/api/v1/visits/check-in", json=body, headers=auth_headers(client, site.cadre))
    assert list(assert_error(check_in, 422)["errors"]) == ["recorded_at"]


@pytest.mark.parametrize("day", ["1899-12-31", "2100-01-01", "0001-01-01", "9999-12-31"])
def test_dates_outside_the_calendar_are_422_for_date_fields(client, app_ctx, day):
    headers = auth_headers(client, AdminFactory())
    response = client.post("/api/v1/enterprises", json={"name": "日期边界企业", "credit_code": new_credit_code(),
                                                         "established_on": day}, headers=headers)
    assert list(assert_error(response, 422)["errors"]) == ["established_on"]


# --- forged cursors -----------------------------------------------------------------------------


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "values",
    [
        ["2026-01-01T00:00:00", 5],  # naive
        ["2026-01-01", 5],  # date only
        ["0001-01-01T00:00:00+14:00", 5],
        [20260101, 5],
        ["2026-01-01T00:00:00+00:00", 1.5],
        ["2026-01-01T00:00:00+00:00", True],
        ["2026-01-01T00:00:00+00:00", "5"],
        ["2026-01-01T00:00:00+00:00", 2**70],
        ["2026-01-01T00:00:00+00:00"],
        {"a": 1},
    ],
)
def test_forged_visit_cursors_are_422(client, app_ctx, values):
    headers = auth_headers(client, UserFactory())
    response = client.get(f"/api/v1/visits?cursor={_cursor(values)}", headers=headers)
    assert list(assert_error(response, 422)["errors"]) == ["cursor"]


@pytest.mark.parametrize("values", [["NaN", 3], [1e400, 3], [0.5, "x"], [None, 3]])
def test_forged_coverage_and_id_cursors_are_422(client, app_ctx, values):
    headers = auth_headers(client, UserFactory())
    assert_error(client.get(f"/api/v1/visits/coverage?cursor={_cursor(values)}", headers=headers), 422)
    assert_error(client.get(f"/api/v1/problems?cursor={_cursor(values[:1])}", headers=headers), 422)


def test_genuine_visit_cursor_pages_on(client, app_ctx):
    cadre = pair().cadre
    for hours in range(3):
        VisitFactory(cadre=cadre, recorded_at=utcnow() - timedelta(hours=hours))
    headers = auth_headers(client, cadre)
    first = client.get("/api/v1/visits?limit=2", headers=headers).get_json()
    second = client.get(f"/api/v1/visits?limit=2&cursor={first['next_cursor']}", headers=headers)
    assert second.status_code == 200 and len(second.get_json()["items"]) == 1


# --- strict numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("category_id", [1.5, 1.0, "1", True, "0x1"])
def test_an_id_must_be_a_json_integer(client, app_ctx, category_id):
    world = make_world()
    body = {"title": "路灯不亮", "description": "东门", "category_id": category_id}
    response = client.post("/api/v1/problems", json=body, headers=auth_headers(client, world.owner))
    assert list(assert_error(response, 422)["errors"]) == ["category_id"]


@pytest.mark.parametrize("lat", ["27.7", True, "NaN", None])
def test_a_coordinate_must_be_a_json_number(client, app_ctx, lat):
    site = pair()
    body = {"enterprise_id": site.enterprise.id, "lat": lat, "lng": site.enterprise.lng, "accuracy_m": 10}
    response = client.post("/api/v1/visits/check-in", json=body, headers=auth_headers(client, site.cadre))
    assert list(assert_error(response, 422)["errors"]) == ["lat"]


def test_numbers_in_query_strings_are_parsed_from_text(client, app_ctx):
    world = make_world()
    headers = auth_headers(client, world.manager)
    assert client.get(f"/api/v1/problems?category_id={world.category.id}&limit=5", headers=headers).status_code == 200
    loose = client.get("/api/v1/problems?category_id=1.5", headers=headers)
    assert list(assert_error(loose, 422)["errors"]) == ["category_id"]


@pytest.mark.parametrize(
    ("revenue", "status"), [("1000.50", 201), (1000.5, 201), ("1e5", 422), ("NaN", 422), (" 12", 422)]
)
def test_amounts_are_numbers_or_their_exact_decimal_text(client, app_ctx, revenue, status):
    user = EnterpriseUserFactory()
    url = f"/api/v1/enterprises/{user.enterprise_id}/indicators"
    response = client.post(url, json={"year": 2018, "revenue": revenue}, headers=auth_headers(client, user))
    assert response.status_code == status, response.get_json()


def _argument_schemas(app):
    for view in app.view_functions.values():
        handlers = [view]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            handlers = [getattr(view_class, method.lower()) for method in view_class.methods]
        for handler in handlers:
            for parameter in getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                schema = parameter["schema"]
                yield schema() if isinstance(schema, type) else schema


def _loadable_fields(schema, prefix=""):
    for name, field in schema.load_fields.items():
        yield from _field_and_inner(field, f"{prefix}{type(schema).__name__}.{name}")


def _field_and_inner(field, path):
    yield path, field
    if isinstance(field, (ma_fields.List, DelimitedList)):
        yield from _field_and_inner(field.inner, path + "[]")
    if isinstance(field, ma_fields.Nested):
        yield from _loadable_fields(field.schema, path + ".")


def test_every_loadable_number_and_date_uses_the_apps_types(app):
    """The class, not the examples: a plain marshmallow number or date field in any argument
    schema would take 1.5 for an id or year 1 for a date again."""
    ours = (common.Integer, common.Float, common.DecimalNumber, common.AwareDateTime, common.Date)
    loose = (ma_fields.Number, ma_fields.DateTime, ma_fields.Date, ma_fields.TimeDelta)
    offenders, seen = [], 0
    with app.test_request_context():
        for schema in _argument_schemas(app):
            assert isinstance(schema, common.Schema), type(schema)
            for path, field in _loadable_fields(schema):
                seen += isinstance(field, loose)
                if isinstance(field, loose) and not isinstance(field, ours):
                    offenders.append(f"{path}: {type(field).__name__}")
    assert seen > 20 and offenders == []


# --- LIKE wildcards -------------------------------------------------------------------------------


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_wildcards_in_q_match_themselves(client, app_ctx, wildcard):
    admin = auth_headers(client, AdminFactory())
    UserFactory(name="普通用户")
    marked = UserFactory(name=f"百分{wildcard}用户")
    found = client.get("/api/v1/users", query_string={"q": wildcard, "limit": 100}, headers=admin).get_json()["items"]
    assert [user["id"] for user in found] == [marked.id]
    world = make_world()
    problem_in(world, "submitted", title="普通问题")
    marked_problem = problem_in(world, "submitted", title=f"折扣{wildcard}问题")
    manager = auth_headers(client, world.manager)
    problems = client.get("/api/v1/problems", query_string={"q": wildcard}, headers=manager).get_json()["items"]
    assert [problem["id"] for problem in problems] == [marked_problem]
    enterprises = client.get("/api/v1/enterprises", query_string={"q": wildcard}, headers=manager).get_json()["items"]
    assert all(wildcard in item["name"] for item in enterprises)


def test_q_ignores_case_on_both_databases(client, app_ctx):
    admin = auth_headers(client, AdminFactory())
    user = UserFactory(name="Zhang WEI")
    found = client.get("/api/v1/users", query_string={"q": "zhang wei"}, headers=admin).get_json()["items"]
    assert [item["id"] for item in found] == [user.id]
