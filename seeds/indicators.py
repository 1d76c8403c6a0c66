"""Demo indicator history: full years from the first whole year after founding (2016 at the
earliest) to 2018, and every quarter from 2018 Q1 to 2019 Q2, for every demo enterprise.

So each 2019 quarter has the same quarter of 2018 to grow over, and no enterprise reports figures
of a time before it was founded (every demo enterprise is founded in 2017 at the latest).

Deterministic (each enterprise draws from its own random.Random seeded with its credit code, so its
history does not depend on which other rows exist), consistent with its scale and industry chain,
idempotent (existing periods are left alone) and inserted in one bulk statement.

Quarterly figures are the quarter's own (not year-to-date) and 2018's four quarters add up to its
full year; land area, employees and patents are stock figures at the end of the period. Services
enterprises report no industrial output, and some small firms rent their premises, so they have no
land area and no per-mu figures.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import insert, select

from seeds.demo import ENTERPRISE_COUNT, enterprise_credit_code
from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.extensions import db
from service_app.org.models import Chain, Enterprise

FIRST_YEAR, LAST_FULL_YEAR, CURRENT_YEAR = 2016, 2018, 2019
SHARES = (0.22, 0.26, 0.25, 0.27)  # a year's revenue by quarter (the first slow after the Spring Festival)
QUARTERLY = {2018: (1, 2, 3, 4), 2019: (1, 2)}  # the quarters reported of each year
# scale: (land area in mu, 2016 revenue in 万元, employees, patents)
PROFILES = {
    "large": ((150, 600), (50_000, 400_000), (1_000, 6_000), (50, 400)),
    "medium": ((40, 150), (8_000, 50_000), (300, 1_000), (10, 80)),
    "small": ((8, 40), (800, 8_000), (50, 300), (1, 25)),
    "micro": ((2, 8), (60, 800), (8, 50), (0, 6)),
}
RND_SHARE = {"electronics": (0.03, 0.08), "new_materials": (0.03, 0.07), "rail_aviation": (0.025, 0.06)}
CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _history(enterprise_id: int, *, code: str, scale: str, chain: str | None, founded: date | None) -> list[dict]:
    rng = random.Random(f"indicators-{code}")
    (land_lo, land_hi), (rev_lo, rev_hi), (emp_lo, emp_hi), (pat_lo, pat_hi) = PROFILES[scale or "small"]
    services = chain == "modern_services"
    rents = rng.random() < (0.6 if services else 0.1 if scale in ("small", "micro") else 0.0)
    land = None if rents else rng.uniform(land_lo, land_hi)
    revenue = rng.uniform(rev_lo, rev_hi)
    employees = rng.randint(emp_lo, emp_hi)
    patents = rng.randint(pat_lo, pat_hi)
    tax_rate = rng.uniform(0.025, 0.07)
    output_ratio = None if services else rng.uniform(0.85, 1.15)
    rnd_share = rng.uniform(*RND_SHARE.get(chain or "", (0.01, 0.04)))
    # Full years are reported from the first whole year after founding.
    first_full = max(FIRST_YEAR, founded.year + 1) if founded else FIRST_YEAR
    rows = []

    def row(year: int, quarter: int, amount: float, tax: float) -> dict:
        return {
            "enterprise_id": enterprise_id,
            "year": year,
            "quarter": quarter,
            "revenue": _money(amount),
            "tax_paid": _money(tax),
            "industrial_output": None if output_ratio is None else _money(amount * output_ratio),
            "land_area_mu": None if land is None else _money(land),
            "employees": employees,
            "rd_spend": _money(amount * rnd_share),
            "patents": patents,
            "source": "seed",
            "reported_by_id": None,
            "reported_at": _reported_at(year, quarter),
        }

    for year in range(FIRST_YEAR, CURRENT_YEAR + 1):
        if year > FIRST_YEAR:  # a new year: growth, hiring, new patents, sometimes more land
            growth = min(0.45, max(-0.2, rng.gauss(0.08, 0.1)))
            revenue *= 1 + growth
            employees = max(emp_lo // 2, round(employees * (1 + growth / 3)))
            patents += rng.randint(0, max(1, pat_hi // 10))
            if land is not None and rng.random() < 0.1:
                land *= rng.uniform(1.1, 1.3)
        quarters = [
            (quarter, revenue * SHARES[quarter - 1] * rng.uniform(0.95, 1.05)) for quarter in QUARTERLY.get(year, ())
        ]
        taxes = [amount * tax_rate * rng.uniform(0.9, 1.1) for _quarter, amount in quarters]
        rows += [row(year, quarter, amount, tax) for (quarter, amount), tax in zip(quarters, taxes, strict=True)]
        if first_full <= year <= LAST_FULL_YEAR:
            if quarters:  # the year's quarters add up to it
                rows.append(row(year, FULL_YEAR, sum(a for _q, a in quarters), sum(taxes)))
            else:
                amount = revenue * rng.uniform(0.95, 1.05)
                rows.append(row(year, FULL_YEAR, amount, amount * tax_rate * rng.uniform(0.9, 1.1)))
    return rows


def _reported_at(year: int, quarter: int) -> datetime:
    """Figures come in about three weeks after the period ends."""
    if quarter == FULL_YEAR:
        return datetime(year + 1, 1, 20, 2, 0, tzinfo=UTC)
    month = quarter * 3 + 1
    return datetime(year + (month > 12), (month - 1) % 12 + 1, 20, 2, 0, tzinfo=UTC)


def load() -> dict[str, int]:
    codes = [enterprise_credit_code(number) for number in range(1, ENTERPRISE_COUNT + 1)]
    enterprises = db.session.execute(
        select(Enterprise.id, Enterprise.credit_code, Enterprise.scale, Enterprise.established_on, Chain.code)
        .outerjoin(Chain, Chain.id == Enterprise.chain_id)
        .where(Enterprise.credit_code.in_(codes))
        .order_by(Enterprise.id)
    ).all()
    existing = set(
        db.session.execute(
            select(EnterpriseIndicator.enterprise_id, EnterpriseIndicator.year, EnterpriseIndicator.quarter).where(
                EnterpriseIndicator.enterprise_id.in_([row.id for row in enterprises])
            )
        ).tuples()
    )
    rows = [
        row
        for enterprise in enterprises
        for row in _history(
            enterprise.id,
            code=enterprise.credit_code,
            scale=enterprise.scale,
            chain=enterprise.code,
            founded=enterprise.established_on,
        )
        if (row["enterprise_id"], row["year"], row["quarter"]) not in existing
    ]
    if rows:
        # render_nulls: keep rows with blank figures in one batch (else each pattern of NULLs is its own INSERT).
        db.session.execute(insert(EnterpriseIndicator).execution_options(render_nulls=True), rows)
    db.session.commit()
    return {"indicators": len(rows)}
