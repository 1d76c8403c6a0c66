"""Per-mu rankings: SQL order, deterministic ties, exclusions, filters and who may read them."""

from __future__ import annotations

import pytest

from tests.factories import (
    ChainFactory,
    EnterpriseFactory,
    EnterpriseUserFactory,
    LinkFactory,
    ParkFactory,
)
from tests.factories_enterprises import IndicatorFactory
from tests.helpers import assert_error, auth_headers


@pytest.fixture
def field(app_ctx):
    """2018 full-year figures; a and b tie on tax per mu (10.00), d, e and f cannot be ranked."""
    park, chain = ParkFactory(), ChainFactory()
    a = EnterpriseFactory(park=park, chain=chain)
    b = EnterpriseFactory(park=park)
    c = EnterpriseFactory(chain=chain)
    d, e, f = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    IndicatorFactory(enterprise=a, tax_paid=100, industrial_output=1000, land_area_mu=10)
    IndicatorFactory(enterprise=b, tax_paid=50, industrial_output=2000, land_area_mu=5)
    IndicatorFactory(enterprise=c, tax_paid=90, industrial_output=3000, land_area_mu=10)
    IndicatorFactory(enterprise=d, tax_paid=500, industrial_output=5000, land_area_mu=None)
    IndicatorFactory(enterprise=e, tax_paid=500, industrial_output=5000, land_area_mu=0)
    IndicatorFactory(enterprise=f, tax_paid=None, industrial_output=None, land_area_mu=10)
    IndicatorFactory(enterprise=d, year=2017, tax_paid=999, land_area_mu=1)
    IndicatorFactory(enterprise=c, year=2019, quarter=1, tax_paid=40, industrial_output=100, land_area_mu=10)
    return {"a": a, "b": b, "c": c, "park": park, "chain": chain}


def _ranking(client, headers, query: str) -> dict:
    response = client.get(f"/api/v1/enterprises/rankings?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _order(body: dict) -> list[tuple[int, int, float]]:
    return [(item["enterprise_id"], item["rank"], item["value"]) for item in body["items"]]


def test_tax_per_mu_ranking_breaks_ties_by_enterprise_and_skips_missing_land(client, manager_headers, field):
    a, b, c = field["a"], field["b"], field["c"]
    body = _ranking(client, manager_headers, "metric=tax_per_mu")
    # Without a year: the latest year with full-year figures (2018), not the 2019 quarter.
    assert (body["year"], body["quarter"], body["period_label"]) == (2018, None, "2018年")
    assert _order(body) == [(a.id, 1, 10.0), (b.id, 1, 10.0), (c.id, 3, 9.0)]
    first = body["items"][0]
    assert (first["amount"], first["land_area_mu"], first["name"]) == (100.0, 10.0, a.name)


def test_output_per_mu_ranking(client, manager_headers, field):
    a, b, c = field["a"], field["b"], field["c"]
    body = _ranking(client, manager_headers, "metric=output_per_mu&year=2018")
    assert _order(body) == [(b.id, 1, 400.0), (c.id, 2, 300.0), (a.id, 3, 100.0)]


def test_ranking_filters_limit_and_quarter(client, manager_headers, field):
    a, b, c = field["a"], field["b"], field["c"]
    assert [i["enterprise_id"] for i in _ranking(client, manager_headers, "metric=tax_per_mu&limit=2")["items"]] == [
        a.id,
        b.id,
    ]
    assert [
        i["enterprise_id"]
        for i in _ranking(client, manager_headers, f"metric=tax_per_mu&park_id={field['park'].id}")["items"]
    ] == [a.id, b.id]
    # The names of the park and chain next to their ids.
    item = _ranking(client, manager_headers, "metric=tax_per_mu&limit=1")["items"][0]
    assert (item["park_id"], item["park_name"], item["chain_name"]) == (a.park_id, a.park.name, a.chain.name)
    assert [
        i["enterprise_id"]
        for i in _ranking(client, manager_headers, f"metric=output_per_mu&chain_id={field['chain'].id}")["items"]
    ] == [c.id, a.id]
    quarter = _ranking(client, manager_headers, "metric=tax_per_mu&year=2019&quarter=1")
    assert _order(quarter) == [(c.id, 1, 4.0)] and quarter["period_label"] == "2019年第1季度"
    assert _ranking(client, manager_headers, "metric=tax_per_mu&year=2010")["items"] == []


def test_ranking_without_any_figures_is_empty(client, manager_headers):
    body = _ranking(client, manager_headers, "metric=output_per_mu")
    assert body["items"] == [] and body["year"] is None


def test_ranking_validation_and_roles(client, app_ctx, manager_headers):
    assert "metric" in assert_error(client.get("/api/v1/enterprises/rankings", headers=manager_headers), 422)["errors"]
    assert (
        "metric"
        in assert_error(client.get("/api/v1/enterprises/rankings?metric=revenue", headers=manager_headers), 422)[
            "errors"
        ]
    )
    for user in (LinkFactory().cadre, EnterpriseUserFactory()):
        assert_error(
            client.get("/api/v1/enterprises/rankings?metric=tax_per_mu", headers=auth_headers(client, user)), 403
        )
