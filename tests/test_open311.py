"""The Open311 GeoReport v2 gateway (DESIGN.md §13, §15): every JSON answer against the official schemas,
every XML answer's element names against the spec (and its content against the JSON answer), filing
through the problems' own filing service, scopes, public read, and the issue's bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.open311 import clients
from service_app.problems.models import Problem
from tests.conftest import count_queries
from tests.factories import AdminFactory, CategoryFactory, EnterpriseFactory, LinkFactory, new_credit_code
from tests.factories_problems import act, advance, file, make_world
from tests.helpers import auth_headers
from tests.open311_conformance import (
    as_text,
    assert_error_list,
    assert_valid,
    assert_w3_dates,
    xml_document,
)

BASE = "/open311/v2"
READER_ONLY = {"status_notes", "description", "address", "lat", "long"}


@pytest.fixture
def world(app_ctx):
    return make_world()


def _issue(name: str, scopes: list[str], rate_limit: str = "1000 per minute") -> str:
    return clients.issue_client(actor=AdminFactory(), name=name, scopes=scopes, rate_limit=rate_limit).api_key


@pytest.fixture
def hotline(world) -> str:
    return _issue("12345-hotline", ["read", "write"])


@pytest.fixture
def public_read(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_PUBLIC_READ", True)


def get_both(client, path: str, kind: str, schema: str | None = None, **params):
    """GET the JSON and the XML answer: both 200, the JSON valid, the XML the same data with the spec's names."""
    answers = {}
    for fmt, content_type in (("json", "application/json; charset=utf-8"), ("xml", "text/xml; charset=utf-8")):
        response = client.get(f"{BASE}/{path}.{fmt}", query_string=params)
        assert response.status_code == 200, (fmt, response.get_data(as_text=True)[:500])
        assert response.headers["Content-Type"] == content_type
        answers[fmt] = response.get_json() if fmt == "json" else xml_document(response.data, kind)
    if schema is not None:
        assert_valid(answers["json"], schema)
    assert answers["xml"] == as_text(answers["json"])
    return answers["json"]


def assert_gateway_error(response, status: int, *, fmt: str = "json", naming: str | None = None) -> str:
    """The spec's error shape with this status, in the URL's format; returns the descriptions."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    if fmt == "xml":
        errors = xml_document(response.data, "errors")
        errors = [{"code": int(e["code"]), "description": e["description"]} for e in errors]
    else:
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        errors = response.get_json()
    assert_error_list(errors, status)
    text = " | ".join(error["description"] for error in errors)
    if naming is not None:
        assert naming in text, text
    return text


def post_request(client, key: str | None, world, *, fmt: str = "json", **fields):
    data = {"service_code": world.category.code, "attribute[credit_code]": world.enterprise.credit_code,
            "description": "三号厂房门口路灯不亮，夜班员工出行不便", **fields}
    if key is not None:
        data["api_key"] = key
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None})


def filed(client, key: str, world, **fields) -> str:
    response = post_request(client, key, world, **fields)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


# --- services -------------------------------------------------------------------------------------

def test_the_schema_check_resolves_references_and_rejects_what_breaks_them():
    """requests.json only `$ref`s request.json: a wrong item must fail through the reference."""
    assert_valid([{"service_request_id": "WT-1", "status": "open", "service_code": "c",
                   "requested_datetime": "2026-01-01T00:00:00+08:00"}], "requests.json")
    with pytest.raises(AssertionError, match="status"):
        assert_valid([{"service_request_id": "WT-1", "status": "pending", "service_code": "c",
                       "requested_datetime": "2026-01-01T00:00:00+08:00"}], "requests.json")
    with pytest.raises(AssertionError, match="service_code"):
        assert_valid([{"service_name": "x", "metadata": True, "type": "realtime"}], "services.json")


def test_discovery_names_the_endpoint_and_formats(client):
    document = get_both(client, "discovery", "discovery")
    (endpoint,) = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {"text/xml", "application/json"}


def test_services_are_the_active_categories_without_a_key(client, world):
    services = get_both(client, "services", "services", "services.json")
    codes = [service["service_code"] for service in services]
    assert world.category.code in codes
    assert all(service["type"] == "realtime" and service["metadata"] is True for service in services)
    english = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}).get_json()
    assert {s["service_name"] for s in english} != {s["service_name"] for s in services}


def test_service_definition_requires_the_credit_code(client, world):
    definition = get_both(client, f"services/{world.category.code}", "service_definition", "service-definition.json")
    attributes = {attribute["code"]: attribute for attribute in definition["attributes"]}
    assert definition["service_code"] == world.category.code
    assert attributes["credit_code"]["required"] is True
    assert {"contact_name", "contact_phone"} <= set(attributes) and not attributes["contact_name"]["required"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_is_404(client, world, fmt):
    assert_gateway_error(client.get(f"{BASE}/services/no-such-service.{fmt}"), 404, fmt=fmt, naming="no-such-service")
    response = post_request(client, _issue("writer", ["write"]), world, fmt=fmt, service_code="no-such-service")
    assert_gateway_error(response, 404, fmt=fmt, naming="no-such-service")


# --- filing and following -------------------------------------------------------------------------

def test_a_filed_request_is_a_normal_problem_routed_by_credit_code(client, world, hotline):
    contact = {"attribute[contact_name]": "王经理", "attribute[contact_phone]": "13800000000"}
    response = post_request(client, hotline, world, **contact)
    assert response.status_code == 200
    (posted,) = response.get_json()
    assert set(posted) <= {"service_request_id", "service_notice", "account_id"}
    problem = db.session.query(Problem).filter_by(code=posted["service_request_id"]).one()
    assert problem.enterprise_id == world.enterprise.id and problem.category_id == world.category.id
    assert problem.status == "submitted" and problem.cadre_id == world.cadre.id and problem.filed_by_id is None
    assert problem.source == "open311:12345-hotline"
    assert "王经理 13800000000" in problem.description and problem.title.startswith(world.category.name)
    # The linked cadre hears about it like any new problem, and sees it in the problem API with its source.
    assert db.session.query(Notification).filter_by(user_id=world.cadre.id, problem_id=problem.id).count() == 1
    shown = client.get(f"/api/v1/problems/{problem.id}", headers=auth_headers(client, world.cadre)).get_json()
    assert shown["source"] == "open311:12345-hotline" and shown["filed_by_id"] is None
    listed = client.get("/api/v1/problems", headers=auth_headers(client, world.owner)).get_json()["items"]
    assert [item["source"] for item in listed] == ["open311:12345-hotline"]


def test_posting_in_xml_answers_the_spec_elements(client, world, hotline):
    response = post_request(client, hotline, world, fmt="xml", title="路灯维修")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/xml; charset=utf-8"
    (posted,) = xml_document(response.data, "posted")
    assert db.session.query(Problem).filter_by(code=posted["service_request_id"]).one().title == "路灯维修"


def test_following_a_request_through_its_life(client, world, hotline):
    code = filed(client, hotline, world, description="配电房漏水")
    problem_id = db.session.query(Problem.id).filter_by(code=code).scalar()
    (request,) = get_both(client, f"requests/{code}", "requests", "requests.json", api_key=hotline)
    assert request["status"] == "open" and request["agency_responsible"] is None
    assert request["description"] == "配电房漏水" and request["status_notes"] is None
    enterprise = world.enterprise
    assert (request["lat"], request["long"], request["address"]) == (enterprise.lat, enterprise.lng, enterprise.address)
    assert_w3_dates([request])

    advance(world, problem_id, "dispatched")
    act(world, problem_id, "comment", "cadre", body="已派电力部门处理")
    act(world, problem_id, "comment", "cadre", body="内部：注意安全", internal=True)
    (request,) = get_both(client, f"requests/{code}", "requests", "requests.json", api_key=hotline)
    assert request["agency_responsible"] == world.department.name and request["status_notes"] == "已派电力部门处理"

    act(world, problem_id, "claim", "staff")
    act(world, problem_id, "resolve", "staff", resolution="已更换破损水管")
    (request,) = get_both(client, "requests", "requests", "requests.json", api_key=hotline, service_request_id=code)
    assert request["status"] == "closed" and request["status_notes"] == "已更换破损水管"
    due = db.session.get(Problem, problem_id).due_at
    assert datetime.fromisoformat(request["expected_datetime"]) == due.replace(microsecond=0)


def test_rejected_problems_are_closed_requests(client, world, hotline):
    code = filed(client, hotline, world)
    advance(world, db.session.query(Problem.id).filter_by(code=code).scalar(), "rejected")
    (request,) = get_both(client, "requests", "requests", "requests.json", api_key=hotline, status="closed")
    assert request["service_request_id"] == code and request["status_notes"] == "不属于服务范围"
    assert get_both(client, "requests", "requests", "requests.json", api_key=hotline, status="open") == []


# --- who reads what -------------------------------------------------------------------------------

def test_a_client_reads_only_its_own_requests_unless_read_all(client, world, hotline):
    ours = filed(client, hotline, world)
    theirs_key = _issue("city-app", ["read", "write"])
    theirs = filed(client, theirs_key, world)
    from_app = file(world)  # filed in the app
    app_code = db.session.get(Problem, from_app).code

    mine = get_both(client, "requests", "requests", "requests.json", api_key=hotline)
    assert [r["service_request_id"] for r in mine] == [ours]
    # Another client's key never reveals this client's requests: not listed, not by id, not by id list.
    theirs_listed = get_both(client, "requests", "requests", None, api_key=theirs_key)
    assert [r["service_request_id"] for r in theirs_listed] == [theirs]
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests/{ours}.{fmt}", query_string={"api_key": theirs_key})
        assert_gateway_error(response, 404, fmt=fmt)
    listed = get_both(client, "requests", "requests", None, api_key=theirs_key, service_request_id=f"{ours},{app_code}")
    assert listed == []

    supervisor = _issue("zone-supervision", ["read_all"])
    everything = get_both(client, "requests", "requests", "requests.json", api_key=supervisor)
    assert {r["service_request_id"] for r in everything} == {ours, theirs, app_code}


def test_scopes_keys_and_revocation(client, world, hotline):
    code = filed(client, hotline, world)
    writer, reader = _issue("writer", ["write"]), _issue("reader", ["read"])
    assert_gateway_error(client.get(f"{BASE}/requests.json", query_string={"api_key": writer}), 403)
    assert_gateway_error(post_request(client, reader, world), 403, naming="write")
    assert_gateway_error(post_request(client, None, world), 403, naming="api_key")
    assert_gateway_error(post_request(client, "not-a-key", world, fmt="xml"), 403, fmt="xml", naming="api_key")
    assert_gateway_error(client.get(f"{BASE}/requests/{code}.json"), 403)  # no key, public read off

    client_id = db.session.query(clients.ApiClient.id).filter_by(name="12345-hotline").scalar()
    clients.revoke_client(client_id=client_id)
    assert_gateway_error(client.get(f"{BASE}/requests.json", query_string={"api_key": hotline}), 403)
    assert_gateway_error(post_request(client, hotline, world), 403)


def test_public_read_shows_status_dates_category_and_department_only(client, world, hotline, public_read):
    code = filed(client, hotline, world, **{"attribute[contact_name]": "王经理"})
    advance(world, db.session.query(Problem.id).filter_by(code=code).scalar(), "dispatched")
    for document in (get_both(client, "requests", "requests", "requests.json"),
                     get_both(client, f"requests/{code}", "requests", "requests.json")):
        (request,) = document
        assert request["service_request_id"] == code and request["agency_responsible"] == world.department.name
        assert not READER_ONLY & set(request), request
        assert_w3_dates(document)
    xml = client.get(f"{BASE}/requests.xml").get_data(as_text=True)
    assert "王经理" not in xml and world.enterprise.name not in xml and "<lat>" not in xml
    # A wrong key is refused even though no key would have been served.
    assert_gateway_error(client.get(f"{BASE}/requests.json", query_string={"api_key": "wrong"}), 403)
    assert_gateway_error(client.get(f"{BASE}/services.xml", query_string={"api_key": "wrong"}), 403, fmt="xml")


# --- the spec's parameters ------------------------------------------------------------------------

def test_dates_window_status_codes_and_pages(client, world, hotline):
    now = datetime.now(UTC)
    other = CategoryFactory(default_department=world.department)
    db.session.commit()
    source = "open311:12345-hotline"
    old = file(world, now=now - timedelta(days=120))
    recent = [file(world, now=now - timedelta(days=day)) for day in (1, 2, 3)]
    other_service = file(world, category_id=other.id, now=now - timedelta(days=4))
    db.session.query(Problem).update({Problem.source: source})
    db.session.commit()
    code = {pid: db.session.get(Problem, pid).code for pid in (old, other_service, *recent)}

    def ids(**params):
        answer = get_both(client, "requests", "requests", "requests.json", api_key=hotline, **params)
        return [r["service_request_id"] for r in answer]

    assert ids() == [code[other_service], *(code[p] for p in reversed(recent))]  # the last 90 days, newest first

    def w3(value):
        return value.isoformat(timespec="seconds")

    start = w3(now - timedelta(days=130))
    assert ids(start_date=start, end_date=w3(now - timedelta(days=100))) == [code[old]]
    assert ids(start_date=start) == [code[old]]  # 90 days from the start
    assert ids(service_code=other.code) == [code[other_service]]
    assert ids(service_code=f"{other.code},{world.category.code}", status="open,closed") == ids()
    assert ids(page_size=2) == ids()[:2] and ids(page_size=2, page=2) == ids()[2:4]
    assert ids(service_request_id=code[old]) == [code[old]]  # an id list overrides the window


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "naming"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "90"),
        ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "1800-01-01T00:00:00Z"}, "end_date"),
        ({"status": "pending"}, "status"),
        ({"page_size": "0"}, "page_size"),
        ({"page": "x"}, "page"),
    ],
)
def test_bad_query_parameters_are_400(client, hotline, params, naming, fmt):
    response = client.get(f"{BASE}/requests.{fmt}", query_string={"api_key": hotline, **params})
    assert_gateway_error(response, 400, fmt=fmt, naming=naming)


@pytest.mark.parametrize(
    ("fields", "naming"),
    [
        ({"attribute[credit_code]": None}, "attribute[credit_code]"),
        ({"attribute[credit_code]": "91430211MT9X000019"}, "attribute[credit_code]"),  # wrong check character
        ({"description": "长" * 4001}, "description"),
        ({"description": None}, "description"),
        ({"service_code": None}, "service_code"),
        ({"lat": "27.8"}, "long"),
        ({"lat": "north", "long": "113"}, "lat"),
        ({"lat": "95", "long": "113"}, "lat"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"title": "x" * 121}, "title"),
        ({"attribute[contact_phone]": "1" * 33}, "attribute[contact_phone]"),
    ],
)
def test_bad_requests_are_400_naming_the_field(client, world, hotline, fields, naming):
    for fmt in ("json", "xml"):
        assert_gateway_error(post_request(client, hotline, world, fmt=fmt, **fields), 400, fmt=fmt, naming=naming)
    assert db.session.query(Problem).count() == 0


def test_a_valid_credit_code_of_no_enterprise_here_is_400(client, world, hotline):
    response = post_request(client, hotline, world, **{"attribute[credit_code]": new_credit_code()})
    assert_gateway_error(response, 400, naming="attribute[credit_code]")


def test_location_and_description_at_the_limits_are_accepted(client, world, hotline):
    location = {"lat": "27.84", "long": "113.07", "address_string": "天易科技城"}
    code = filed(client, hotline, world, description="长" * 4000, **location)
    problem = db.session.query(Problem).filter_by(code=code).one()
    assert problem.description.startswith("长" * 4000) and "天易科技城 (27.840000, 113.070000)" in problem.description
    (request,) = get_both(client, f"requests/{code}", "requests", "requests.json", api_key=hotline)
    assert len(request["description"]) == 4000


def test_jurisdiction_wrong_methods_paths_and_bodies(client, world, hotline, app):
    jurisdiction = app.config["OPEN311_JURISDICTION_ID"]
    assert get_both(client, "services", "services", "services.json", jurisdiction_id=jurisdiction)
    elsewhere = client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere.gov")
    assert_gateway_error(elsewhere, 404, naming="jurisdiction_id")
    assert_gateway_error(client.get(f"{BASE}/nothing.xml"), 404, fmt="xml")
    assert_gateway_error(client.get(f"{BASE}/services.csv"), 404)
    assert_gateway_error(client.delete(f"{BASE}/requests.json"), 400)
    as_json = client.post(f"{BASE}/requests.json", json={"api_key": hotline, "service_code": world.category.code})
    assert_gateway_error(as_json, 400)


def test_rate_limit_is_per_client(client, world):
    tight, other = _issue("tight", ["read"], rate_limit="2 per minute"), _issue("other", ["read"])
    for _ in range(2):
        assert client.get(f"{BASE}/requests.json", query_string={"api_key": tight}).status_code == 200
    assert_gateway_error(client.get(f"{BASE}/requests.xml", query_string={"api_key": tight}), 429, fmt="xml")
    assert client.get(f"{BASE}/requests.json", query_string={"api_key": other}).status_code == 200


def test_problems_filed_in_the_app_say_so(client, world):
    problem_id = file(world)
    shown = client.get(f"/api/v1/problems/{problem_id}", headers=auth_headers(client, world.owner)).get_json()
    assert shown["source"] == "app" and shown["filed_by_id"] == world.owner.id


def test_requests_of_an_enterprise_without_location_still_conform(client, hotline, world):
    bare = EnterpriseFactory(lat=None, lng=None, address=None)
    LinkFactory(enterprise=bare)
    db.session.commit()
    code = filed(client, hotline, world, **{"attribute[credit_code]": bare.credit_code})
    (request,) = get_both(client, f"requests/{code}", "requests", "requests.json", api_key=hotline)
    assert (request["lat"], request["long"], request["address"]) == (None, None, None)


def test_a_list_costs_the_same_statements_whatever_its_length(app, client, world, hotline):
    def statements_for_list() -> int:
        with count_queries(app) as statements:
            assert client.get(f"{BASE}/requests.json", query_string={"api_key": hotline}).status_code == 200
        return len(statements)

    first = filed(client, hotline, world)
    act(world, db.session.query(Problem.id).filter_by(code=first).scalar(), "comment", "cadre", body="已联系企业")
    short = statements_for_list()
    for _ in range(5):
        filed(client, hotline, world)
    assert statements_for_list() == short <= 3  # the key, the page, the latest notes
