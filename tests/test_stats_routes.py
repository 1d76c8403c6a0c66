"""Statistics endpoints: who sees what, snapshots vs periods, export files, refresh."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from service_app.common.time import utcnow
from service_app.extensions import db
from service_app.stats import service
from tests.conftest import count_queries
from tests.factories import (
    AdminFactory,
    CadreFactory,
    CategoryFactory,
    DepartmentFactory,
    DepartmentUserFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)
from tests.factories_stats import EventFactory, ProblemFactory, rate
from tests.helpers import assert_error, auth_headers

SUMMARY_KEYS = {
    "total", "resolved", "resolution_rate", "response_rate", "open", "in_progress", "awaiting_info", "urge_count",
    "overdue", "supervised",
    "on_time_rate", "satisfaction_rate", "avg_resolution_hours", "visits", "coverage", "computed_at",
}


@pytest.fixture
def data(app_ctx):
    """A cadre with two linked enterprises' problems, a department with one dispatched, one other."""
    cadre, department_user = CadreFactory(), DepartmentUserFactory()
    own = [LinkFactory(cadre=cadre).enterprise for _ in range(2)]
    category = CategoryFactory()
    t = utcnow() - timedelta(days=3)
    mine = [
        ProblemFactory(
            enterprise=e,
            category=category,
            created_at=t,
            status="closed",
            resolved_at=t + timedelta(hours=5),
            first_response_at=t + timedelta(hours=1),
        )
        for e in own
    ]
    rate(mine[0], 5)
    dispatched = ProblemFactory(
        category=category,
        created_at=t,
        status="dispatched",
        department_id=department_user.department_id,
        first_response_at=t + timedelta(hours=2),
    )
    EventFactory(problem_id=dispatched.id, action="dispatch", department_id=department_user.department_id)
    ProblemFactory(category=category, created_at=t)
    return {"cadre": cadre, "department_user": department_user, "category": category}


def _get(client, user, url, **params):
    return client.get(url, query_string=params or None, headers=auth_headers(client, user))


def test_summary_scope_per_role(client, data):
    manager = _get(client, UserFactory(), "/api/v1/stats/summary")
    assert manager.status_code == 200 and set(manager.get_json()) == SUMMARY_KEYS
    assert (manager.get_json()["total"], manager.get_json()["resolved"]) == (4, 2)
    cadre = _get(client, data["cadre"], "/api/v1/stats/summary").get_json()
    assert (cadre["total"], cadre["resolved"], cadre["satisfaction_rate"], cadre["coverage"]) == (2, 2, 1.0, 0.0)
    department = _get(client, data["department_user"], "/api/v1/stats/summary").get_json()
    assert (department["total"], department["resolved"], department["visits"], department["coverage"]) == (
        1,
        0,
        None,
        None,
    )
    for user in (EnterpriseUserFactory(), AdminFactory()):
        assert_error(_get(client, user, "/api/v1/stats/summary"), 403)
    other = _get(client, data["department_user"], "/api/v1/stats/summary", department_id=DepartmentFactory().id)
    assert_error(other, 403)


def test_summary_filters_and_validation(client, data):
    manager = UserFactory()
    by_department = _get(
        client, manager, "/api/v1/stats/summary", department_id=data["department_user"].department_id
    ).get_json()
    assert by_department["total"] == 1
    assert "park_id" in assert_error(_get(client, manager, "/api/v1/stats/summary", park_id=999999), 422)["errors"]
    assert (
        "to"
        in assert_error(
            _get(client, manager, "/api/v1/stats/summary", **{"from": "2019-08-01", "to": "2019-07-01"}), 422
        )["errors"]
    )
    assert (
        "from" in assert_error(_get(client, manager, "/api/v1/stats/summary", **{"from": "yesterday"}), 422)["errors"]
    )
    empty = _get(client, manager, "/api/v1/stats/summary", **{"from": "2019-03-01", "to": "2019-03-31"}).get_json()
    assert (empty["total"], empty["resolution_rate"]) == (0, None)
    assert_error(_get(client, manager, "/api/v1/stats/by/nonsense"), 404)
    # Beyond a 32-bit key the schema refuses the id, before the database could.
    for url in ("/api/v1/stats/summary", "/api/v1/stats/common-problems", "/api/v1/stats/by/park"):
        assert "chain_id" in assert_error(_get(client, manager, url, chain_id=309501274722304704), 422)["errors"]


def test_breakdown_trend_and_common_problems_for_managers(client, data):
    manager = UserFactory()
    rows = _get(client, manager, "/api/v1/stats/by/category").get_json()["rows"]
    mine = next(r for r in rows if r["key"] == data["category"].id)
    assert (mine["total"], mine["resolved"], mine["share"], mine["resolution_rate"], mine["label"]) == (
        4,
        2,
        1.0,
        0.5,
        data["category"].name,
    )
    cadre_row = next(
        r for r in _get(client, manager, "/api/v1/stats/by/cadre").get_json()["rows"] if r["key"] == data["cadre"].id
    )
    assert (cadre_row["total"], cadre_row["code"]) == (2, data["cadre"].username)
    points = _get(client, manager, "/api/v1/stats/trend", interval="month").get_json()["points"]
    assert sum(p["total"] for p in points) == 4
    common = _get(client, manager, "/api/v1/stats/common-problems", min_enterprises=2).get_json()
    assert common["min_enterprises"] == 2 and common["categories"][0]["key"] == data["category"].id
    assert_error(_get(client, manager, "/api/v1/stats/trend", interval="year"), 422)


def test_breakdown_trend_common_and_export_answer_cadres_and_departments_with_their_scope(client, data):
    service.write_current_snapshot(now=utcnow())
    cadre, department_user = data["cadre"], data["department_user"]
    cadre_rows = _get(client, cadre, "/api/v1/stats/by/category").get_json()["rows"]
    counted = [(r["key"], r["total"], r["resolved"], r["share"]) for r in cadre_rows if r["total"]]
    assert counted == [(data["category"].id, 2, 2, 1.0)]
    cadre_rows = _get(client, cadre, "/api/v1/stats/by/cadre").get_json()["rows"]
    assert [r["key"] for r in cadre_rows if r["total"]] == [cadre.id]
    department_rows = _get(client, department_user, "/api/v1/stats/by/department").get_json()["rows"]
    assert [(r["key"], r["total"]) for r in department_rows if r["total"]] == [(department_user.department_id, 1)]
    points = _get(client, cadre, "/api/v1/stats/trend", interval="month").get_json()["points"]
    assert sum(p["total"] for p in points) == 2
    points = _get(client, department_user, "/api/v1/stats/trend", interval="month").get_json()["points"]
    assert sum(p["total"] for p in points) == 1
    common = _get(client, cadre, "/api/v1/stats/common-problems", min_enterprises=2).get_json()
    assert [(c["key"], c["problems"]) for c in common["categories"]] == [(data["category"].id, 2)]
    common = _get(client, department_user, "/api/v1/stats/common-problems", min_enterprises=2).get_json()
    assert common["categories"] == []
    overview = dict(_csv_sections(_get(client, cadre, "/api/v1/stats/export", format="csv").data)["统计概览"][1:])
    assert int(overview["问题总数"]) == 2
    other = DepartmentFactory().id
    urls = ("/api/v1/stats/by/park", "/api/v1/stats/trend", "/api/v1/stats/common-problems", "/api/v1/stats/export")
    for url in urls:
        assert_error(_get(client, department_user, url, department_id=other, format="csv"), 403)
        assert_error(_get(client, EnterpriseUserFactory(), url, format="csv"), 403)


def test_summary_from_snapshot_is_one_read(app, client, data):
    manager = UserFactory()
    headers = auth_headers(client, manager)
    service.write_current_snapshot(now=utcnow())
    with count_queries(app) as statements:
        body = client.get("/api/v1/stats/summary", headers=headers).get_json()
    assert body["total"] == 4
    # The token check, then the snapshot row.
    assert len(statements) == 2, statements


def _csv_sections(content: bytes) -> dict[str, list[list[str]]]:
    assert content.startswith(b"\xef\xbb\xbf")
    sections: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def test_export_files_hold_the_json_figures(client, data):
    manager = UserFactory()
    service.write_current_snapshot(now=utcnow())
    summary = _get(client, manager, "/api/v1/stats/summary").get_json()
    categories = _get(client, manager, "/api/v1/stats/by/category").get_json()["rows"]
    response = _get(client, manager, "/api/v1/stats/export", format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    sections = _csv_sections(response.data)
    overview = dict(sections["统计概览"][1:])
    assert sections["统计概览"][0] == ["指标", "数值"]
    assert int(overview["问题总数"]) == summary["total"] and int(overview["已解决"]) == summary["resolved"]
    assert float(overview["解决率"]) == summary["resolution_rate"]
    header, *rows = sections["按问题类别"]
    assert header[:4] == ["编号", "代码", "名称", "占比"]
    exported = {int(r[0]): r for r in rows}
    row = exported[data["category"].id]
    expected = next(r for r in categories if r["key"] == data["category"].id)
    assert (row[2], int(row[header.index("问题总数")]), float(row[header.index("解决率")])) == (
        expected["label"],
        expected["total"],
        expected["resolution_rate"],
    )

    xlsx = _get(client, manager, "/api/v1/stats/export", format="xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(xlsx.data))
    assert {"统计概览", "按问题类别", "按职能部门", "按园区", "按产业链", "按联企干部", "月度趋势"} <= set(
        workbook.sheetnames
    )
    sheet_rows = list(workbook["统计概览"].iter_rows(values_only=True))
    assert (
        dict(sheet_rows[1:])["问题总数"] == summary["total"]
        and dict(sheet_rows[1:])["解决率"] == summary["resolution_rate"]
    )
    category_sheet = list(workbook["按问题类别"].iter_rows(values_only=True))
    xrow = next(r for r in category_sheet[1:] if r[0] == data["category"].id)
    assert xrow[category_sheet[0].index("问题总数")] == expected["total"]
    assert_error(_get(client, manager, "/api/v1/stats/export", format="pdf"), 422)


def test_refresh_moves_the_figures_by_exactly_one(client, data):
    manager, admin = UserFactory(), AdminFactory()
    before = client.post("/api/v1/stats/refresh", headers=auth_headers(client, manager)).get_json()
    filed = ProblemFactory(category=data["category"], created_at=utcnow() - timedelta(hours=1))
    after_filing = client.post("/api/v1/stats/refresh", headers=auth_headers(client, admin)).get_json()
    assert (after_filing["total"], after_filing["resolved"]) == (before["total"] + 1, before["resolved"])
    assert after_filing["computed_at"] > before["computed_at"]
    filed.status, filed.resolved_at, filed.first_response_at = "resolved", utcnow(), utcnow()
    db.session.flush()
    after_resolving = client.post("/api/v1/stats/refresh", headers=auth_headers(client, manager)).get_json()
    assert (after_resolving["total"], after_resolving["resolved"]) == (before["total"] + 1, before["resolved"] + 1)
    assert _get(client, manager, "/api/v1/stats/summary").get_json() == after_resolving
    assert_error(client.post("/api/v1/stats/refresh", headers=auth_headers(client, data["cadre"])), 403)


def test_period_is_computed_on_demand_and_reads_dates_in_shanghai(client, app_ctx):
    manager = UserFactory()
    # 2019-03-01 23:30 in Shanghai belongs to March 1st; 2019-03-02 00:30 does not.
    ProblemFactory(created_at=datetime(2019, 3, 1, 15, 30, tzinfo=UTC))
    ProblemFactory(created_at=datetime(2019, 3, 1, 16, 30, tzinfo=UTC))
    day = _get(client, manager, "/api/v1/stats/summary", **{"from": "2019-03-01", "to": "2019-03-01"}).get_json()
    assert day["total"] == 1
    moment = _get(client, manager, "/api/v1/stats/summary", **{"from": "2019-03-01T16:00:00Z"}).get_json()
    assert moment["total"] == 1
