"""The whole loop through HTTP on the demo data: file, handle, resolve, rate, and the statistics."""

from __future__ import annotations

import seeds
from tests.helpers import login


def _headers(client, username: str) -> dict:
    return {"Authorization": f"Bearer {login(client, username, 'Demo@2019')['access_token']}"}


def test_demo_loop_moves_the_statistics_by_exactly_one(app, client, app_ctx):
    seeds.load("demo")
    manager, ent, cadre = _headers(client, "manager"), _headers(client, "ent007"), _headers(client, "cadre007")
    assert client.post("/api/v1/stats/refresh", headers=manager).status_code == 200
    before = client.get("/api/v1/stats/summary", headers=manager).get_json()
    assert (before["total"], before["resolved"]) == (1301, 749)

    category = next(c for c in client.get("/api/v1/categories", headers=ent).get_json() if c["name"] == "配套服务")
    filed = client.post(
        "/api/v1/problems",
        json={"title": "园区食堂就餐拥挤", "description": "午餐高峰排队超过半小时", "category_id": category["id"]},
        headers=ent,
    )
    assert filed.status_code == 201, filed.get_json()
    problem = filed.get_json()
    assert problem["status"] == "submitted" and problem["status_label"] == "待受理"
    url = f"/api/v1/problems/{problem['id']}"

    accepted = client.post(f"{url}/accept", json={}, headers={**cadre, "If-Match": filed.headers["ETag"]})
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    stale = client.post(f"{url}/dispatch", json={}, headers={**cadre, "If-Match": filed.headers["ETag"]})
    assert stale.status_code == 412
    dispatched = client.post(f"{url}/dispatch", json={}, headers={**cadre, "If-Match": accepted.headers["ETag"]})
    assert dispatched.status_code == 200
    department_id = dispatched.get_json()["department_id"]
    assert department_id == category["default_department_id"]

    # The staff of that department (dept01… follow the reference order of departments).
    departments = client.get("/api/v1/departments", headers=manager).get_json()
    staff = _headers(client, f"dept{[d['id'] for d in departments].index(department_id) + 1:02d}")
    assert client.post(f"{url}/claim", json={}, headers=staff).get_json()["status"] == "in_progress"
    assert (
        client.post(f"{url}/resolve", json={"resolution": "增设临时就餐点并错峰开餐"}, headers=staff).get_json()[
            "status"
        ]
        == "resolved"
    )

    refreshed = client.post("/api/v1/stats/refresh", headers=manager)
    assert refreshed.status_code == 200
    after = client.get("/api/v1/stats/summary", headers=manager).get_json()
    assert (after["total"] - before["total"], after["resolved"] - before["resolved"]) == (1, 1)

    rated = client.post(f"{url}/rating", json={"score": 5, "comment": "解决及时"}, headers=ent)
    assert rated.status_code == 201 and rated.get_json()["status"] == "closed"
    timeline = [event["action"] for event in client.get(f"{url}/events", headers=ent).get_json()]
    assert timeline == ["submit", "accept", "dispatch", "claim", "resolve", "rate", "close"]
