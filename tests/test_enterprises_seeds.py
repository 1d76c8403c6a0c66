"""Demo indicator history: complete, deterministic, consistent with scale, idempotent and bulk-inserted."""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from sqlalchemy import delete, func, select

import seeds
from seeds import indicators
from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.extensions import db
from service_app.org.models import Chain, Enterprise
from tests.conftest import count_queries


def _snapshot() -> dict:
    rows = db.session.execute(
        select(
            Enterprise.credit_code,
            EnterpriseIndicator.year,
            EnterpriseIndicator.quarter,
            EnterpriseIndicator.revenue,
            EnterpriseIndicator.tax_paid,
            EnterpriseIndicator.land_area_mu,
            EnterpriseIndicator.employees,
        ).join(Enterprise, Enterprise.id == EnterpriseIndicator.enterprise_id)
    ).all()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def test_every_demo_enterprise_has_a_plausible_history(app, app_ctx):
    seeds.load("demo")
    periods = db.session.execute(
        select(EnterpriseIndicator.enterprise_id, func.count()).group_by(EnterpriseIndicator.enterprise_id)
    ).all()
    # Full years from the first whole year after founding (2016 at the earliest), every quarter from 2018.
    assert len(periods) == 500 and {count for _id, count in periods} == {7, 8, 9}
    assert set(
        db.session.execute(select(EnterpriseIndicator.year, EnterpriseIndicator.quarter).distinct()).tuples()
    ) == {
        (2016, FULL_YEAR),
        (2017, FULL_YEAR),
        (2018, FULL_YEAR),
        *((2018, quarter) for quarter in (1, 2, 3, 4)),
        (2019, 1),
        (2019, 2),
    }

    rows = db.session.execute(
        select(Enterprise.scale, Chain.code, EnterpriseIndicator)
        .join(EnterpriseIndicator, EnterpriseIndicator.enterprise_id == Enterprise.id)
        .join(Chain, Chain.id == Enterprise.chain_id)
        .where(EnterpriseIndicator.year == 2018, EnterpriseIndicator.quarter == FULL_YEAR)
    ).all()
    revenue = defaultdict(list)
    for scale, chain, row in rows:
        revenue[scale].append(row.revenue)
        assert 0 < row.tax_paid < row.revenue and row.rd_spend < row.revenue
        assert (row.industrial_output is None) == (chain == "modern_services")
    assert median(revenue["large"]) > median(revenue["medium"]) > median(revenue["small"]) > median(revenue["micro"])
    # Some enterprises rent their premises: no land area, so no per-mu figures and no ranking.
    assert any(row.land_area_mu is None for _s, _c, row in rows) and any(row.land_area_mu for _s, _c, row in rows)


def test_indicator_seed_is_deterministic_idempotent_and_bulk(app, app_ctx):
    seeds.load("demo")
    first = _snapshot()
    assert seeds.load("demo")["indicators"] == 0

    db.session.execute(delete(EnterpriseIndicator))
    with count_queries(app) as statements:
        assert indicators.load() == {"indicators": len(first)}
    # Two look-ups and the bulk insert (batched by the driver), not a statement per row.
    assert len(statements) <= 10, statements
    assert _snapshot() == first
