"""Enterprise list filters and the profile: who sees what, what it holds, how many statements it costs."""

from __future__ import annotations

from datetime import UTC, datetime

from service_app.auth.models import Role
from service_app.common.time import utcnow
from tests.conftest import count_queries
from tests.factories import (
    AdminFactory,
    CadreFactory,
    ChainFactory,
    DepartmentFactory,
    DepartmentUserFactory,
    EnterpriseFactory,
    EnterpriseUserFactory,
    LinkFactory,
    ParkFactory,
    UserFactory,
)
from tests.factories_enterprises import IndicatorFactory, make_problem, make_visit  # noqa: F401
from tests.helpers import assert_error, auth_headers


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_list_filters_by_park_chain_scale_and_search(client, manager_headers):
    park = ParkFactory()
    wanted = EnterpriseFactory(name="株洲筛选目标材料有限公司", park=park, scale="medium")
    EnterpriseFactory(park=park, scale="small")
    EnterpriseFactory(scale="medium")
    assert _ids(client.get(f"/api/v1/enterprises?park_id={park.id}&scale=medium", headers=manager_headers)) == [
        wanted.id
    ]
    assert _ids(client.get("/api/v1/enterprises?q=筛选目标", headers=manager_headers)) == [wanted.id]
    item = client.get("/api/v1/enterprises?q=筛选目标", headers=manager_headers).get_json()["items"][0]
    assert (item["park_id"], item["park_name"], item["chain_name"]) == (park.id, park.name, None)
    assert _ids(client.get(f"/api/v1/enterprises?q={wanted.credit_code.lower()}", headers=manager_headers)) == [
        wanted.id
    ]
    # LIKE wildcards in the search are literal characters, not patterns.
    assert _ids(client.get("/api/v1/enterprises?q=%25", headers=manager_headers)) == []
    assert "scale" in assert_error(client.get("/api/v1/enterprises?scale=huge", headers=manager_headers), 422)["errors"]


def test_list_filters_by_chain_and_updated_since(client, manager_headers):
    chain = ChainFactory()
    first = EnterpriseFactory(chain=chain)
    second = EnterpriseFactory()
    assert _ids(client.get(f"/api/v1/enterprises?chain_id={chain.id}", headers=manager_headers)) == [first.id]
    first.updated_at = datetime(2019, 1, 1, tzinfo=UTC)
    second.updated_at = datetime(2019, 6, 1, tzinfo=UTC)
    listed = _ids(client.get("/api/v1/enterprises?updated_since=2019-03-01T00:00:00%2B08:00", headers=manager_headers))
    assert second.id in listed and first.id not in listed


def test_linked_to_me_keeps_the_cadres_active_links(client, app_ctx):
    link = LinkFactory()
    LinkFactory(cadre=link.cadre, ended_at=utcnow())
    LinkFactory()
    headers = auth_headers(client, link.cadre)
    assert _ids(client.get("/api/v1/enterprises?linked_to_me=true", headers=headers)) == [link.enterprise_id]
    # A manager is linked to no enterprise.
    manager = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    assert _ids(client.get("/api/v1/enterprises?linked_to_me=true", headers=manager)) == []


def test_list_pages_with_a_cursor(client, manager_headers):
    created = [EnterpriseFactory().id for _ in range(5)]
    first = client.get("/api/v1/enterprises?limit=3", headers=manager_headers).get_json()
    second = client.get(
        f"/api/v1/enterprises?limit=3&cursor={first['next_cursor']}", headers=manager_headers
    ).get_json()
    seen = [e["id"] for e in first["items"] + second["items"]]
    assert [i for i in seen if i in created] == created
    assert second["next_cursor"] is None


def test_list_costs_the_same_statements_for_5_and_50_rows(client, app, manager_headers):
    EnterpriseFactory.create_batch(50)

    def statements(limit: int) -> int:
        with count_queries(app) as queries:
            response = client.get(f"/api/v1/enterprises?limit={limit}", headers=manager_headers)
        assert len(response.get_json()["items"]) == limit
        return len(queries)

    assert statements(5) == statements(50)


def test_profile_holds_contacts_cadres_problems_last_visit_and_latest_indicators(client, manager_headers):
    enterprise = EnterpriseFactory(contact_name="王经理", contact_phone="0731-2868000", legal_representative="李总")
    primary = LinkFactory(enterprise=enterprise, cadre=CadreFactory(name="张干部", phone="13800000001"))
    leader = LinkFactory(enterprise=enterprise, role="leader", cadre=CadreFactory(name="刘领导", phone="13800000002"))
    LinkFactory(enterprise=enterprise, ended_at=utcnow())  # ended: not shown
    for status in ("submitted", "in_progress", "dispatched", "resolved", "closed", "rejected"):
        make_problem(enterprise, status=status)
    make_problem(EnterpriseFactory(), status="submitted")  # another enterprise's
    make_visit(primary, recorded_at=datetime(2019, 5, 1, 2, 0, tzinfo=UTC))
    make_visit(leader, recorded_at=datetime(2019, 5, 20, 2, 0, tzinfo=UTC))
    IndicatorFactory(enterprise=enterprise, year=2018, tax_paid=80, land_area_mu=20)
    IndicatorFactory(enterprise=enterprise, year=2019, quarter=2, tax_paid=30, industrial_output=600, land_area_mu=20)
    IndicatorFactory(enterprise=enterprise, year=2019, quarter=1, tax_paid=10, land_area_mu=20)

    body = client.get(f"/api/v1/enterprises/{enterprise.id}", headers=manager_headers).get_json()

    assert (body["contact_name"], body["contact_phone"], body["legal_representative"]) == (
        "王经理",
        "0731-2868000",
        "李总",
    )
    assert (body["lat"], body["lng"], body["address"]) == (enterprise.lat, enterprise.lng, enterprise.address)
    assert [(c["name"], c["phone"], c["link_role"]) for c in body["linked_cadres"]] == [
        ("张干部", "13800000001", "primary"),
        ("刘领导", "13800000002", "leader"),
    ]
    assert body["problems"] == {"open": 3, "resolved": 2, "total": 6}
    assert body["last_visit_at"] == "2019-05-20T02:00:00+00:00"
    latest = body["latest_indicators"]
    assert (latest["year"], latest["quarter"], latest["period_label"]) == (2019, 2, "2019年第2季度")
    assert (latest["tax_per_mu"], latest["output_per_mu"]) == (1.5, 30.0)


def test_profile_of_a_new_enterprise_has_empty_parts(client, manager_headers):
    enterprise = EnterpriseFactory()
    body = client.get(f"/api/v1/enterprises/{enterprise.id}", headers=manager_headers).get_json()
    assert body["linked_cadres"] == [] and body["latest_indicators"] is None and body["last_visit_at"] is None
    assert body["problems"] == {"open": 0, "resolved": 0, "total": 0}
    assert body["park"] is None


def test_latest_full_year_follows_its_fourth_quarter(client, manager_headers):
    enterprise = EnterpriseFactory()
    IndicatorFactory(enterprise=enterprise, year=2018, quarter=4)
    IndicatorFactory(enterprise=enterprise, year=2018)
    IndicatorFactory(enterprise=enterprise, year=2017)
    latest = client.get(f"/api/v1/enterprises/{enterprise.id}", headers=manager_headers).get_json()["latest_indicators"]
    assert (latest["year"], latest["quarter"]) == (2018, None)
    assert latest["yoy"]["revenue"] == 0.0


def test_profile_costs_a_fixed_number_of_statements(client, app, manager_headers):
    lean, busy = EnterpriseFactory(), EnterpriseFactory()
    for _ in range(4):
        link = LinkFactory(enterprise=busy)
        make_visit(link, recorded_at=utcnow())
        make_problem(busy, status="resolved")
    for year in (2016, 2017, 2018):
        IndicatorFactory(enterprise=busy, year=year)

    def statements(path: str) -> int:
        with count_queries(app) as queries:
            assert client.get(path, headers=manager_headers).status_code == 200
        return len(queries)

    authentication = statements("/api/v1/me")
    assert (
        statements(f"/api/v1/enterprises/{lean.id}")
        == statements(f"/api/v1/enterprises/{busy.id}")
        == authentication + 3
    )


def test_enterprise_sees_its_own_profile_only(client, app_ctx):
    user = EnterpriseUserFactory()
    other = EnterpriseFactory()
    headers = auth_headers(client, user)
    assert client.get(f"/api/v1/enterprises/{user.enterprise_id}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/enterprises/{other.id}", headers=headers), 404)
    assert _ids(client.get("/api/v1/enterprises", headers=headers)) == [user.enterprise_id]


def test_cadre_sees_linked_enterprises_only(client, app_ctx):
    link = LinkFactory()
    stranger = EnterpriseFactory()
    headers = auth_headers(client, link.cadre)
    assert client.get(f"/api/v1/enterprises/{link.enterprise_id}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/enterprises/{stranger.id}", headers=headers), 404)


def test_department_sees_enterprises_with_problems_dispatched_to_it(client):
    department = DepartmentFactory()
    user = DepartmentUserFactory(department=department)
    dispatched, other = EnterpriseFactory(), EnterpriseFactory()
    make_problem(dispatched, status="dispatched", department=department)
    make_problem(other, status="dispatched", department=DepartmentFactory())
    headers = auth_headers(client, user)
    assert _ids(client.get("/api/v1/enterprises", headers=headers)) == [dispatched.id]
    assert client.get(f"/api/v1/enterprises/{dispatched.id}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/enterprises/{other.id}", headers=headers), 404)


def test_manager_and_admin_see_every_profile(client, app_ctx):
    enterprise = EnterpriseFactory()
    for user in (UserFactory(role=Role.MANAGER.value), AdminFactory()):
        assert client.get(f"/api/v1/enterprises/{enterprise.id}", headers=auth_headers(client, user)).status_code == 200
    assert_error(client.get("/api/v1/enterprises/999999", headers=auth_headers(client, AdminFactory())), 404)
