"""Export of enterprises and of indicators in the shapes the import reads (Chinese headers).

An exported file imported again changes nothing: parks and chains are written by name, scales by
their Chinese label, full-year periods as "全年", and derived per-mu columns are ignored on import.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from service_app.auth.models import User
from service_app.common.tabular import ExportFile, Sheet, export_file
from service_app.enterprises import columns as cols
from service_app.enterprises import metrics, scoping
from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.extensions import db
from service_app.org.models import SCALE_LABELS, Chain, Enterprise, Park

FULL_YEAR_LABEL = "全年"
SHEET_TITLES = {"enterprises": "企业名录", "indicators": "关键指标"}


def export(
    actor: User,
    *,
    kind: str,
    format: str,
    park_id: int | None = None,
    chain_id: int | None = None,
    year: int | None = None,
) -> ExportFile:
    """The enterprises (or their indicators) `actor` may see, as a CSV or XLSX file."""
    columns = cols.COLUMNS[kind]
    query = scoping.visible_enterprises(actor)
    for column, wanted in ((Enterprise.park_id, park_id), (Enterprise.chain_id, chain_id)):
        if wanted is not None:
            query = query.where(column == wanted)
    rows = _enterprise_rows(query) if kind == "enterprises" else _indicator_rows(query, year=year)
    sheet = Sheet(title=SHEET_TITLES[kind], headers=[column.header for column in columns], rows=rows)
    return export_file([sheet], file_format=format, name=kind)


def _enterprise_rows(query) -> Iterator[list[Any]]:
    park, chain = aliased(Park), aliased(Chain)
    result = db.session.execute(
        query.add_columns(park.name, chain.name)
        .outerjoin(park, park.id == Enterprise.park_id)
        .outerjoin(chain, chain.id == Enterprise.chain_id)
        .order_by(Enterprise.id)
    )
    for enterprise, park_name, chain_name in result:
        values = {
            "park": park_name,
            "chain": chain_name,
            "scale": SCALE_LABELS.get(enterprise.scale) if enterprise.scale else None,
        }
        yield [values[c.field] if c.field in values else getattr(enterprise, c.field) for c in cols.ENTERPRISE_COLUMNS]


def _indicator_rows(query, *, year: int | None) -> Iterator[list[Any]]:
    visible = query.with_only_columns(Enterprise.id)
    statement = (
        select(EnterpriseIndicator, Enterprise.credit_code, Enterprise.name)
        .join(Enterprise, Enterprise.id == EnterpriseIndicator.enterprise_id)
        .where(EnterpriseIndicator.enterprise_id.in_(visible))
        .order_by(Enterprise.id, EnterpriseIndicator.year, EnterpriseIndicator.quarter)
    )
    if year is not None:
        statement = statement.where(EnterpriseIndicator.year == year)
    for row, code, name in db.session.execute(statement):
        values = {
            "credit_code": code,
            "name": name,
            "quarter": FULL_YEAR_LABEL if row.quarter == FULL_YEAR else row.quarter,
            "tax_per_mu": metrics.per_mu(row.tax_paid, row.land_area_mu),
            "output_per_mu": metrics.per_mu(row.industrial_output, row.land_area_mu),
        }
        yield [values[c.field] if c.field in values else getattr(row, c.field) for c in cols.INDICATOR_COLUMNS]
