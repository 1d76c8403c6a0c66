"""Key indicators: derived per-mu figures, year-on-year growth, history, reports and who may do what."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from service_app.auth.models import Role
from service_app.enterprises import metrics
from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.enterprises.service import check_period_started
from service_app.extensions import db
from tests.factories import (
    AdminFactory,
    DepartmentFactory,
    DepartmentUserFactory,
    EnterpriseFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)
from tests.factories_enterprises import IndicatorFactory, make_problem  # noqa: F401
from tests.helpers import assert_error, auth_headers

D = Decimal


@pytest.mark.parametrize(
    ("amount", "land", "expected"),
    [
        (100, 20, D("5.00")),
        (10, 3, D("3.33")),
        (D("0.005"), 1, D("0.01")),
        (0, 5, D("0.00")),
        (100, 0, None),
        (100, None, None),
        (None, 20, None),
    ],
)
def test_per_mu(amount, land, expected):
    assert metrics.per_mu(amount, land) == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (110, 100, D("0.1000")),
        (90, 100, D("-0.1000")),
        (1, 3, D("-0.6667")),
        (100, 0, None),
        (None, 100, None),
        (100, None, None),
        (0, 0, None),
    ],
)
def test_growth(current, previous, expected):
    assert metrics.growth(current, previous) == expected


def test_derived_growth_uses_unrounded_per_mu_figures():
    # 10/3 -> 10.01/3 is +0.1%; the rounded per-mu figures (3.33 -> 3.34) would show +0.3%.
    own, yoy = metrics.derived(
        {"tax_paid": D("10.01"), "land_area_mu": D(3)}, {"tax_paid": D(10), "land_area_mu": D(3)}
    )
    assert own["tax_per_mu"] == D("3.34")
    assert yoy["tax_per_mu"] == D("0.0010") and yoy["tax_paid"] == D("0.0010")
    own, yoy = metrics.derived({"tax_paid": D(5)}, None)
    assert own == {"tax_per_mu": None, "output_per_mu": None}
    assert set(yoy) == set(metrics.GROWTH_FIELDS) and all(v is None for v in yoy.values())


def test_period_labels_and_order():
    assert metrics.period_label(2018, FULL_YEAR) == "2018年"
    assert metrics.period_label(2019, 2) == "2019年第2季度"
    periods = [(2018, 4), (2019, 1), (2018, FULL_YEAR), (2018, 1)]
    assert sorted(periods, key=lambda p: metrics.period_rank(*p), reverse=True) == [
        (2019, 1),
        (2018, FULL_YEAR),
        (2018, 4),
        (2018, 1),
    ]


def test_periods_cannot_be_reported_before_they_start():
    today = date(2019, 5, 10)
    assert check_period_started(2019, 2, today=today) == {}
    assert check_period_started(2019, None, today=today) == {}
    assert set(check_period_started(2019, 3, today=today)) == {"quarter"}
    assert set(check_period_started(2020, None, today=today)) == {"year"}
    assert set(check_period_started(2020, 1, today=today)) == {"year"}


@pytest.fixture
def history(app_ctx):
    """Known figures: 2016 without land, 2017 and 2018 comparable, 2019 Q1 without a 2018 Q1."""
    enterprise = EnterpriseFactory()
    IndicatorFactory(enterprise=enterprise, year=2016, revenue=800, tax_paid=30, industrial_output=700, land_area_mu=0)
    IndicatorFactory(
        enterprise=enterprise, year=2017, revenue=1000, tax_paid=40, industrial_output=800, land_area_mu=20
    )
    IndicatorFactory(
        enterprise=enterprise, year=2018, revenue=1200, tax_paid=50, industrial_output=1000, land_area_mu=20
    )
    IndicatorFactory(
        enterprise=enterprise, year=2019, quarter=1, revenue=300, tax_paid=12, industrial_output=None, land_area_mu=None
    )
    return enterprise


def test_history_derives_per_mu_figures_and_growth(client, history):
    headers = auth_headers(client, UserFactory(role=Role.MANAGER.value))
    items = client.get(f"/api/v1/enterprises/{history.id}/indicators", headers=headers).get_json()
    assert [(i["year"], i["quarter"]) for i in items] == [(2019, 1), (2018, None), (2017, None), (2016, None)]
    q1, y2018, y2017, y2016 = items
    assert (y2018["tax_per_mu"], y2018["output_per_mu"]) == (2.5, 50.0)
    assert y2018["yoy"] == {
        "revenue": 0.2,
        "tax_paid": 0.25,
        "industrial_output": 0.25,
        "tax_per_mu": 0.25,
        "output_per_mu": 0.25,
    }
    # 2016 has a zero land area: no per-mu figures, so 2017 has no per-mu growth either.
    assert (y2016["tax_per_mu"], y2016["output_per_mu"]) == (None, None)
    assert y2017["yoy"]["tax_per_mu"] is None and y2017["yoy"]["revenue"] == 0.25
    # 2019 Q1: no land area and no 2018 Q1 to compare with.
    assert (q1["tax_per_mu"], q1["land_area_mu"], q1["industrial_output"]) == (None, None, None)
    assert all(value is None for value in q1["yoy"].values())
    assert y2016["yoy"]["revenue"] is None  # no 2015


def test_enterprise_reports_and_re_reports_its_own_figures(client, app_ctx):
    user = EnterpriseUserFactory()
    headers = auth_headers(client, user)
    url = f"/api/v1/enterprises/{user.enterprise_id}/indicators"
    first = client.post(
        url,
        json={"year": 2018, "revenue": "1000.5", "tax_paid": 40, "land_area_mu": 16, "employees": 80},
        headers=headers,
    )
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["tax_per_mu"], body["quarter"], body["source"], body["reported_by_id"]) == (
        2.5,
        None,
        "report",
        user.id,
    )

    again = client.post(url, json={"year": 2018, "tax_paid": 48, "employees": None}, headers=headers)
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    # Left out: kept. Sent: changed. Null: cleared.
    assert (body["revenue"], body["tax_paid"], body["land_area_mu"], body["employees"]) == (1000.5, 48.0, 16.0, None)
    assert body["tax_per_mu"] == 3.0
    count = db.session.scalar(
        select(func.count())
        .select_from(EnterpriseIndicator)
        .where(EnterpriseIndicator.enterprise_id == user.enterprise_id)
    )
    assert count == 1

    quarter = client.post(url, json={"year": 2018, "quarter": 3, "tax_paid": 12}, headers=headers)
    assert quarter.status_code == 201 and quarter.get_json()["period_label"] == "2018年第3季度"


def test_admin_reports_for_any_enterprise_and_is_recorded(client, app_ctx):
    admin = AdminFactory()
    enterprise = EnterpriseFactory()
    IndicatorFactory(enterprise=enterprise, year=2017, tax_paid=40, land_area_mu=20)
    response = client.post(
        f"/api/v1/enterprises/{enterprise.id}/indicators",
        json={"year": 2018, "tax_paid": 60, "land_area_mu": 20},
        headers=auth_headers(client, admin),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["reported_by_id"] == admin.id and body["yoy"]["tax_paid"] == 0.5 and body["yoy"]["tax_per_mu"] == 0.5


def test_other_roles_may_not_report(client, app_ctx):
    link = LinkFactory()
    url = f"/api/v1/enterprises/{link.enterprise_id}/indicators"
    for user in (link.cadre, UserFactory(role=Role.MANAGER.value), DepartmentUserFactory()):
        assert_error(client.post(url, json={"year": 2018, "tax_paid": 1}, headers=auth_headers(client, user)), 403)
    assert db.session.scalar(select(func.count()).select_from(EnterpriseIndicator)) == 0


def test_enterprise_cannot_report_for_another(client, app_ctx):
    headers = auth_headers(client, EnterpriseUserFactory())
    other = EnterpriseFactory()
    assert_error(client.post(f"/api/v1/enterprises/{other.id}/indicators", json={"year": 2018}, headers=headers), 404)
    assert_error(
        client.post(
            "/api/v1/enterprises/999999/indicators", json={"year": 2018}, headers=auth_headers(client, AdminFactory())
        ),
        404,
    )


def test_report_validation(client, app_ctx):
    user = EnterpriseUserFactory()
    headers = auth_headers(client, user)
    url = f"/api/v1/enterprises/{user.enterprise_id}/indicators"
    body = assert_error(
        client.post(
            url, json={"year": 2018, "quarter": 5, "revenue": -1, "employees": 1.5, "bogus": 1}, headers=headers
        ),
        422,
    )
    assert set(body["errors"]) == {"quarter", "revenue", "employees", "bogus"}
    assert "year" in assert_error(client.post(url, json={"tax_paid": 1}, headers=headers), 422)["errors"]
    future = date.today().year + 1
    assert "year" in assert_error(client.post(url, json={"year": future}, headers=headers), 422)["errors"]


def test_indicator_scope_per_role(client, history):
    url = f"/api/v1/enterprises/{history.id}/indicators"
    own = EnterpriseUserFactory(enterprise=history)
    stranger = EnterpriseUserFactory()
    linked = LinkFactory(enterprise=history).cadre
    unlinked = LinkFactory().cadre
    for user in (own, linked, UserFactory(role=Role.MANAGER.value), AdminFactory()):
        response = client.get(url, headers=auth_headers(client, user))
        assert response.status_code == 200 and len(response.get_json()) == 4
    for user in (stranger, unlinked, DepartmentUserFactory()):
        assert_error(client.get(url, headers=auth_headers(client, user)), 404)


def test_department_reads_indicators_of_enterprises_dispatched_to_it(client, history):
    department = DepartmentFactory()
    make_problem(history, status="dispatched", department=department)
    headers = auth_headers(client, DepartmentUserFactory(department=department))
    assert len(client.get(f"/api/v1/enterprises/{history.id}/indicators", headers=headers).get_json()) == 4
    assert_error(client.post(f"/api/v1/enterprises/{history.id}/indicators", json={"year": 2018}, headers=headers), 403)
