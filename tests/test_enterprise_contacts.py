"""An enterprise corrects its own contact details; every change to an enterprise is in its history."""

from __future__ import annotations

import csv
import io

from service_app.auth.models import Role
from tests.factories import AdminFactory, EnterpriseFactory, EnterpriseUserFactory, LinkFactory, UserFactory
from tests.helpers import assert_error, auth_headers


def history(client, headers, enterprise_id: int, query: str = "") -> dict:
    response = client.get(f"/api/v1/enterprises/{enterprise_id}/history{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_enterprise_edits_its_contact_fields_and_the_history_says_who_when_old_new(client, app_ctx):
    user = EnterpriseUserFactory(enterprise__contact_name="王一", enterprise__contact_phone="13900000001")
    headers = auth_headers(client, user)
    changes = {"contact_name": "李二", "contact_phone": "0731-28681234", "address": "湖南省株洲市天元区新址8号"}
    response = client.patch(f"/api/v1/enterprises/{user.enterprise_id}", json=changes, headers=headers)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in changes} == changes
    manager = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    items = history(client, manager, user.enterprise_id)["items"]
    assert {(i["field"], i["old_value"], i["new_value"]) for i in items} == {
        ("contact_name", "王一", "李二"),
        ("contact_phone", "13900000001", "0731-28681234"),
        ("address", "湖南省株洲市天元区测试路1号", "湖南省株洲市天元区新址8号"),
    }
    assert all(i["changed_by"] == {"id": user.id, "username": user.username, "name": user.name} for i in items)
    assert all(i["changed_at"] for i in items)


def test_an_enterprise_may_not_touch_admin_fields_and_each_is_named(client, app_ctx):
    user = EnterpriseUserFactory()
    body = {"contact_name": "李二", "name": "株洲改名有限公司", "scale": "large"}
    response = client.patch(f"/api/v1/enterprises/{user.enterprise_id}", json=body, headers=auth_headers(client, user))
    assert set(assert_error(response, 422)["errors"]) == {"name", "scale"}
    admin = auth_headers(client, AdminFactory())
    assert history(client, admin, user.enterprise_id)["items"] == []  # nothing changed, not even the contact


def test_another_enterprise_is_404_and_other_roles_are_403(client, app_ctx):
    user = EnterpriseUserFactory()
    other = EnterpriseFactory()
    response = client.patch(
        f"/api/v1/enterprises/{other.id}", json={"contact_name": "x"}, headers=auth_headers(client, user)
    )
    assert_error(response, 404)
    link = LinkFactory()
    response = client.patch(
        f"/api/v1/enterprises/{link.enterprise_id}",
        json={"contact_name": "x"},
        headers=auth_headers(client, link.cadre),
    )
    assert_error(response, 403)
    assert_error(
        client.get(f"/api/v1/enterprises/{user.enterprise_id}/history", headers=auth_headers(client, user)), 403
    )
    assert_error(client.get("/api/v1/enterprises/999999/history", headers=auth_headers(client, AdminFactory())), 404)


def test_admin_changes_are_kept_too_newest_first_in_pages(client, app_ctx):
    enterprise = EnterpriseFactory(scale="small")
    admin_user = AdminFactory()
    admin = auth_headers(client, admin_user)
    for scale in ("medium", "large"):
        assert (
            client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"scale": scale}, headers=admin).status_code
            == 200
        )
    assert (
        client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"scale": "large"}, headers=admin).status_code == 200
    )
    first = history(client, admin, enterprise.id, "?limit=1")
    second = history(client, admin, enterprise.id, f"?limit=1&cursor={first['next_cursor']}")
    assert [(i["old_value"], i["new_value"]) for i in first["items"] + second["items"]] == [
        ("medium", "large"),
        ("small", "medium"),
    ]
    assert second["next_cursor"] is None  # setting a value it already had is no change
    assert first["items"][0]["changed_by"]["id"] == admin_user.id


def test_an_import_that_updates_an_enterprise_is_kept_in_its_history(client, app_ctx):
    enterprise = EnterpriseFactory(contact_name="王一")
    admin_user = AdminFactory()
    admin = auth_headers(client, admin_user)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["企业名称", "统一社会信用代码", "联系人"], [enterprise.name, enterprise.credit_code, "赵六"]]
    )
    response = client.post(
        "/api/v1/enterprises/import?kind=enterprises",
        data={"file": (io.BytesIO(buffer.getvalue().encode()), "enterprises.csv")},
        headers=admin,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.get_json()["updated"] == 1, response.get_json()
    items = history(client, admin, enterprise.id)["items"]
    assert [(i["field"], i["old_value"], i["new_value"], i["changed_by"]["id"]) for i in items] == [
        ("contact_name", "王一", "赵六", admin_user.id)
    ]
