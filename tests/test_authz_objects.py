"""BOLA (OWASP API1): every endpoint that takes an object id, every role allowed to call it, and
an object of another enterprise's world that role must not see → 404, and none of its data.

The objects belong to enterprise B (its user, its cadre, a problem dispatched to department B with
an attachment, a visit, a notice, indicators). The callers belong to enterprise A and department A.
Managers see every problem and visit but not other users' notices; admins manage enterprises.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from service_app.attachments.models import Attachment
from service_app.auth.models import Role
from service_app.common.time import utcnow
from service_app.enterprises.models import EnterpriseIndicator
from service_app.extensions import db
from service_app.notifications.models import Notification
from service_app.problems.models import Problem
from service_app.visits.models import Visit
from tests.factories import (
    AdminFactory,
    CategoryFactory,
    DepartmentUserFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)
from tests.factories_stats import record_dispatch
from tests.helpers import login
from tests.test_authz_matrix import RULES

SECRET = "机密-企业B的问题"


@pytest.fixture
def world(client, app_ctx):
    now = utcnow()
    b_user = EnterpriseUserFactory()
    b_link = LinkFactory(enterprise=b_user.enterprise)
    b_staff = DepartmentUserFactory()
    problem = Problem(
        code="WT-BOLA-0001", enterprise_id=b_user.enterprise_id, category_id=CategoryFactory().id, title=SECRET,
        description=SECRET, filed_by_id=b_user.id, cadre_id=b_link.cadre_id, status="dispatched",
        department_id=b_staff.department_id, created_at=now, updated_at=now,
        response_due_at=now + timedelta(hours=24), due_at=now + timedelta(days=5),
    )
    db.session.add(problem)
    db.session.flush()
    record_dispatch(problem.id, b_staff.department_id)
    attachment = Attachment(
        owner_id=b_user.id,
        problem_id=problem.id,
        storage="local",
        storage_key="bola/secret.png",
        filename="secret.png",
        content_type="image/png",
        size=4,
        sha256="0" * 64,
    )
    visit = Visit(
        cadre_id=b_link.cadre_id,
        enterprise_id=b_user.enterprise_id,
        recorded_at=now,
        lat=27.84,
        lng=113.08,
        note=SECRET,
    )
    notice = Notification(user_id=b_user.id, kind="submitted", params={"title": SECRET})
    indicator = EnterpriseIndicator(enterprise_id=b_user.enterprise_id, year=2019, quarter=0, revenue=123)
    db.session.add_all([attachment, visit, notice, indicator])
    db.session.flush()

    a_user = EnterpriseUserFactory()
    a_link = LinkFactory(enterprise=a_user.enterprise)
    callers = {
        Role.ENTERPRISE.value: a_user,
        Role.CADRE.value: a_link.cadre,
        Role.DEPARTMENT.value: DepartmentUserFactory(),
        Role.MANAGER.value: UserFactory(role=Role.MANAGER.value),
        Role.ADMIN.value: AdminFactory(),
    }
    headers = {
        role: {"Authorization": f"Bearer {login(client, user.username)['access_token']}"}
        for role, user in callers.items()
    }
    ids = {
        "problem_id": problem.id,
        "attachment_id": attachment.id,
        "visit_id": visit.id,
        "notification_id": notice.id,
        "enterprise_id": b_user.enterprise_id,
    }
    return headers, ids


# Which roles may see each kind of object of enterprise B (of the callers above).
SEES = {
    "problem_id": {Role.MANAGER.value},
    "attachment_id": {Role.MANAGER.value},
    "visit_id": {Role.MANAGER.value},
    "notification_id": set(),
    "enterprise_id": {Role.MANAGER.value, Role.ADMIN.value},
}
BODIES = {
    "reject": {"reason": "重复"},
    "return": {"reason_code": "other", "reason": "非本部门职责"},
    "resolve": {"resolution": "已处理"},
    "extend": {"due_at": (utcnow() + timedelta(days=30)).isoformat(), "reason": "需要协调"},
    "comment": {"body": "请补充材料"},
    "rating": {"score": 5},
    "check-out": {"lat": 27.84, "lng": 113.08, "summary": "走访完成"},
    "indicators": {"year": 2019, "revenue": 1},
    "withdraw": {"reason": "误报"},
    "assign": {"user_id": 1},
    "request_info": {"question": "请补充照片"},
    "supply_info": {"answer": "已补充"},
    "request_extension": {"days": 3, "reason": "需协调"},
    "deny_extension": {"reason": "不予延期"},
}


def _cases():
    for (method, path), allowed in sorted(RULES.items()):
        if "<int:" not in path or allowed is None:
            continue
        key = path.split("<int:")[1].split(">")[0]
        if key not in SEES:
            continue  # users and links are admin-only data, covered by the role matrix
        yield method, path, key, allowed


def test_invisible_objects_answer_404_without_data(client, world):
    headers, ids = world
    checked = 0
    for method, path, key, allowed in _cases():
        url = path.replace(f"<int:{key}>", str(ids[key]))
        body = BODIES.get(path.rsplit("/", 1)[-1]) if method != "GET" else None
        for role in sorted(allowed - SEES[key]):
            response = client.open(url, method=method, json=body, headers=headers[role])
            assert response.status_code == 404, (
                method,
                path,
                role,
                response.status_code,
                response.get_data(as_text=True)[:300],
            )
            assert SECRET not in response.get_data(as_text=True)
            checked += 1
    print(f"\nBOLA cases checked: {checked}")
    assert checked >= 35, checked


def test_visible_objects_are_readable_by_those_who_may(client, world):
    headers, ids = world
    for key, url in [
        ("problem_id", "/api/v1/problems/{}"),
        ("visit_id", "/api/v1/visits/{}"),
        ("attachment_id", "/api/v1/attachments/{}/meta"),
        ("enterprise_id", "/api/v1/enterprises/{}"),
    ]:
        for role in SEES[key]:
            response = client.get(url.format(ids[key]), headers=headers[role])
            assert response.status_code == 200, (key, role, response.get_json())


@pytest.mark.parametrize(
    "path,body,field",
    [
        (
            "/api/v1/users",
            {"username": "massassign", "password": "Strong@123", "name": "x", "role": "manager", "is_active": False},
            "is_active",
        ),
        (
            "/api/v1/problems",
            {"title": "标题", "description": "描述", "category_id": 1, "status": "resolved"},
            "status",
        ),
        ("/api/v1/problems", {"title": "标题", "description": "描述", "category_id": 1, "cadre_id": 1}, "cadre_id"),
        (
            "/api/v1/visits/check-in",
            {"enterprise_id": 1, "lat": 27.8, "lng": 113.1, "accuracy_m": 5, "cadre_id": 1},
            "cadre_id",
        ),
        (
            "/api/v1/visits/check-in",
            {"enterprise_id": 1, "lat": 27.8, "lng": 113.1, "accuracy_m": 5, "within_geofence": True},
            "within_geofence",
        ),
    ],
)
def test_mass_assignment_is_refused(client, app_ctx, path, body, field):
    role = {
        "/api/v1/users": Role.ADMIN.value,
        "/api/v1/problems": Role.ENTERPRISE.value,
        "/api/v1/visits/check-in": Role.CADRE.value,
    }[path]
    user = {Role.ADMIN.value: AdminFactory, Role.ENTERPRISE.value: EnterpriseUserFactory}.get(
        role, lambda: LinkFactory().cadre
    )()
    headers = {"Authorization": f"Bearer {login(client, user.username)['access_token']}"}
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_enterprise_role_cannot_be_escalated_by_patch(client, app_ctx):
    user = EnterpriseUserFactory()
    headers = {"Authorization": f"Bearer {login(client, user.username)['access_token']}"}
    assert client.patch(f"/api/v1/users/{user.id}", json={"role": "admin"}, headers=headers).status_code == 403
    # An enterprise may correct its contact fields only; an admin's field is a 422 naming it.
    response = client.patch(f"/api/v1/enterprises/{user.enterprise_id}", json={"name": "改名"}, headers=headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["name"]
