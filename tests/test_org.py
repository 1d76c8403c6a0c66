"""Reference lists, enterprise administration, links and the enterprise scoping rule."""

from __future__ import annotations

from service_app.auth.models import Role
from service_app.enterprises.scoping import can_see_enterprise
from service_app.org import credit_code, scoping
from tests.factories import (
    AdminFactory,
    CadreFactory,
    DepartmentUserFactory,
    EnterpriseFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
    new_credit_code,
)
from tests.factories_stats import record_dispatch
from tests.helpers import assert_error, auth_headers


def test_reference_lists(client, app_ctx):
    headers = auth_headers(client, CadreFactory())
    parks = client.get("/api/v1/parks", headers=headers).get_json()
    assert "天易科技城" in {p["name"] for p in parks}
    chains = {c["name"] for c in client.get("/api/v1/chains", headers=headers).get_json()}
    assert {"轨道交通及通用航空", "汽车及新能源汽车", "电子信息", "新材料", "新能源", "现代服务业"} <= chains
    categories = client.get("/api/v1/categories", headers=headers).get_json()
    by_name = {c["name"]: c for c in categories}
    assert {"配套服务", "物业管理"} <= set(by_name)
    assert by_name["配套服务"]["default_department_id"] and by_name["配套服务"]["resolve_days"] == 5
    # Each category names the department it goes to; 水电气 goes to the power utility (DESIGN §15).
    assert (by_name["配套服务"]["default_department_name"], by_name["水电气"]["default_department_name"]) == (
        "园区服务中心",
        "供电公司",
    )
    assert client.get("/api/v1/departments", headers=headers).status_code == 200


def test_reference_lists_need_login(client):
    assert_error(client.get("/api/v1/parks"), 401)


def test_admin_registers_an_enterprise(client, admin_headers):
    code = new_credit_code()
    response = client.post(
        "/api/v1/enterprises",
        json={
            "name": "株洲新成立科技有限公司",
            "credit_code": code.lower(),
            "lat": 27.84,
            "lng": 113.08,
            "scale": "small",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["credit_code"] == code and body["scale_label"] == "小型"
    again = client.post(
        "/api/v1/enterprises", json={"name": "重复企业有限公司", "credit_code": code}, headers=admin_headers
    )
    assert_error(again, 409, "credit_code_taken")


def test_bad_credit_code_and_coordinates_are_422(client, admin_headers):
    response = client.post(
        "/api/v1/enterprises",
        json={"name": "坏数据企业", "credit_code": "91350100M000100Y44", "lat": 91, "lng": 200, "park_id": 99999},
        headers=admin_headers,
    )
    body = assert_error(response, 422)
    assert set(body["errors"]) == {"credit_code", "lat", "lng"}
    assert "校验位" in body["errors"]["credit_code"][0]


def test_unknown_park_is_422(client, admin_headers):
    response = client.post(
        "/api/v1/enterprises",
        json={"name": "某企业", "credit_code": new_credit_code(), "park_id": 99999},
        headers=admin_headers,
    )
    assert "park_id" in assert_error(response, 422)["errors"]


def test_admin_updates_an_enterprise(client, admin_headers):
    enterprise = EnterpriseFactory()
    response = client.patch(
        f"/api/v1/enterprises/{enterprise.id}", json={"address": "新地址1号"}, headers=admin_headers
    )
    assert response.status_code == 200 and response.get_json()["address"] == "新地址1号"
    assert_error(client.patch("/api/v1/enterprises/999999", json={"address": "x"}, headers=admin_headers), 404)


def test_non_admin_cannot_register_enterprises(client, app_ctx):
    headers = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    assert_error(
        client.post("/api/v1/enterprises", json={"name": "x", "credit_code": new_credit_code()}, headers=headers), 403
    )


def test_enterprise_sees_only_itself(client, app_ctx):
    user = EnterpriseUserFactory()
    other = EnterpriseFactory()
    headers = auth_headers(client, user)
    listed = client.get("/api/v1/enterprises", headers=headers).get_json()["items"]
    assert [e["id"] for e in listed] == [user.enterprise_id]
    assert client.get(f"/api/v1/enterprises/{user.enterprise_id}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/enterprises/{other.id}", headers=headers), 404)


def test_cadre_sees_only_actively_linked_enterprises(client, app_ctx):
    link = LinkFactory()
    ended = LinkFactory(cadre=link.cadre)
    from service_app.common.time import utcnow

    ended.ended_at = utcnow()
    stranger = EnterpriseFactory()
    headers = auth_headers(client, link.cadre)
    listed = {e["id"] for e in client.get("/api/v1/enterprises", headers=headers).get_json()["items"]}
    assert listed == {link.enterprise_id}
    assert_error(client.get(f"/api/v1/enterprises/{ended.enterprise_id}", headers=headers), 404)
    assert_error(client.get(f"/api/v1/enterprises/{stranger.id}", headers=headers), 404)


def test_department_without_dispatches_sees_no_enterprise(client, app_ctx):
    EnterpriseFactory()
    headers = auth_headers(client, DepartmentUserFactory())
    assert client.get("/api/v1/enterprises", headers=headers).get_json()["items"] == []


def test_manager_sees_all_and_can_search(client, app_ctx):
    target = EnterpriseFactory(name="株洲独一无二材料有限公司")
    headers = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    found = client.get("/api/v1/enterprises?q=独一无二", headers=headers).get_json()["items"]
    assert [e["id"] for e in found] == [target.id]
    by_code = client.get(f"/api/v1/enterprises?q={target.credit_code[-6:]}", headers=headers).get_json()["items"]
    assert target.id in {e["id"] for e in by_code}


def test_links_admin(client, admin_headers, app_ctx):
    cadre, enterprise = CadreFactory(), EnterpriseFactory()
    created = client.post(
        "/api/v1/links", json={"cadre_id": cadre.id, "enterprise_id": enterprise.id}, headers=admin_headers
    )
    assert created.status_code == 201
    link = created.get_json()
    assert link["active"] is True
    assert_error(
        client.post(
            "/api/v1/links", json={"cadre_id": cadre.id, "enterprise_id": enterprise.id}, headers=admin_headers
        ),
        409,
    )
    not_cadre = client.post(
        "/api/v1/links", json={"cadre_id": AdminFactory().id, "enterprise_id": enterprise.id}, headers=admin_headers
    )
    assert "cadre_id" in assert_error(not_cadre, 422)["errors"]
    assert client.delete(f"/api/v1/links/{link['id']}", headers=admin_headers).status_code == 204
    active = client.get(f"/api/v1/links?cadre_id={cadre.id}", headers=admin_headers).get_json()["items"]
    assert active == []
    history = client.get(f"/api/v1/links?cadre_id={cadre.id}&active=false", headers=admin_headers).get_json()["items"]
    assert history[0]["active"] is False
    assert_error(client.delete("/api/v1/links/999999", headers=admin_headers), 404)


def test_manager_reads_links_but_cannot_change_them(client, app_ctx):
    headers = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    assert client.get("/api/v1/links", headers=headers).status_code == 200
    assert_error(client.post("/api/v1/links", json={"cadre_id": 1, "enterprise_id": 1}, headers=headers), 403)


def test_scoping_helpers(app_ctx):
    link = LinkFactory()
    assert scoping.is_linked(link.cadre_id, link.enterprise_id)
    assert can_see_enterprise(link.cadre, link.enterprise_id)
    assert not can_see_enterprise(link.cadre, EnterpriseFactory().id)
    assert credit_code.is_valid(link.enterprise.credit_code)


def test_department_sees_enterprises_of_problems_dispatched_to_it(client, app_ctx):
    from datetime import timedelta

    from service_app.common.time import utcnow
    from service_app.extensions import db
    from service_app.problems.models import Problem
    from tests.factories import CategoryFactory

    staff = DepartmentUserFactory()
    link = LinkFactory()
    now = utcnow()
    problem = Problem(
        code="WT-TEST-0001",
        enterprise_id=link.enterprise_id,
        category_id=CategoryFactory().id,
        title="路灯不亮",
        description="园区道路路灯损坏",
        filed_by_id=link.cadre_id,
        status="dispatched",
        created_at=now,
        updated_at=now,
        response_due_at=now + timedelta(hours=24),
        due_at=now + timedelta(hours=72),
    )
    db.session.add(problem)
    db.session.flush()
    record_dispatch(problem.id, staff.department_id)
    db.session.flush()
    headers = auth_headers(client, staff)
    listed = [e["id"] for e in client.get("/api/v1/enterprises", headers=headers).get_json()["items"]]
    assert listed == [link.enterprise_id]
    assert client.get(f"/api/v1/enterprises/{link.enterprise_id}", headers=headers).status_code == 200
