"""What goes in and out of the enterprise look-up, indicator, ranking, import and export endpoints."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_smorest.fields import Upload
from marshmallow import fields, validate

from service_app.common.pagination import PageArgsSchema
from service_app.common.schemas import AwareDateTime, DecimalNumber, Id, Integer, Schema, Text
from service_app.enterprises.models import SOURCES
from service_app.org.models import ENTERPRISE_SCALES
from service_app.org.schemas import ChainSchema, EnterpriseSchema, ParkSchema

MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_AREA = Decimal("9999999999.99")  # Numeric(12, 2)
MIN_YEAR, MAX_YEAR = 1949, 2200
METRICS = ("tax_per_mu", "output_per_mu")
IMPORT_KINDS = ("enterprises", "indicators")
EXPORT_FORMATS = ("csv", "xlsx")


def _amount(**kwargs) -> fields.Decimal:
    return DecimalNumber(
        places=2, rounding=ROUND_HALF_UP, allow_none=True, validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs
    )


def _count() -> fields.Integer:
    return Integer(allow_none=True, validate=validate.Range(min=0, max=100_000_000))


class EnterpriseQuerySchema(PageArgsSchema):
    q = Text(validate=validate.Length(min=1, max=64), metadata={"description": "Name or credit code contains"})
    park_id = Id()
    chain_id = Id()
    scale = fields.String(validate=validate.OneOf(ENTERPRISE_SCALES))
    linked_to_me = fields.Boolean(metadata={"description": "Only enterprises actively linked to the calling cadre"})
    updated_since = AwareDateTime(metadata={"description": "Only enterprises changed at or after this time"})


class IndicatorWriteSchema(Schema):
    """One period's figures. Fields left out keep their stored value; null clears one."""

    year = Integer(required=True, validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR))
    quarter = Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=4),
        metadata={"description": "1-4, or null for the full year"},
    )
    revenue = _amount(metadata={"description": "营业收入, 万元"})
    tax_paid = _amount(metadata={"description": "实缴税金, 万元"})
    industrial_output = _amount(metadata={"description": "工业总产值, 万元"})
    land_area_mu = DecimalNumber(
        places=2, rounding=ROUND_HALF_UP, allow_none=True, validate=validate.Range(min=0, max=MAX_AREA),
        metadata={"description": "用地面积, 亩"},
    )
    employees = _count()
    rd_spend = _amount(metadata={"description": "研发投入, 万元"})
    patents = _count()


class GrowthSchema(Schema):
    """Year-on-year growth as a ratio (0.125 = +12.5%); null without the same period a year before."""

    revenue = fields.Float(dump_only=True, allow_none=True)
    tax_paid = fields.Float(dump_only=True, allow_none=True)
    industrial_output = fields.Float(dump_only=True, allow_none=True)
    tax_per_mu = fields.Float(dump_only=True, allow_none=True)
    output_per_mu = fields.Float(dump_only=True, allow_none=True)


class IndicatorSchema(Schema):
    year = fields.Integer(dump_only=True)
    quarter = fields.Integer(dump_only=True, allow_none=True, metadata={"description": "null: the full year"})
    period_label = fields.String(dump_only=True)
    revenue = fields.Float(dump_only=True, allow_none=True)
    tax_paid = fields.Float(dump_only=True, allow_none=True)
    industrial_output = fields.Float(dump_only=True, allow_none=True)
    land_area_mu = fields.Float(dump_only=True, allow_none=True)
    employees = fields.Integer(dump_only=True, allow_none=True)
    rd_spend = fields.Float(dump_only=True, allow_none=True)
    patents = fields.Integer(dump_only=True, allow_none=True)
    tax_per_mu = fields.Float(dump_only=True, allow_none=True, metadata={"description": "亩均税收, 万元/亩"})
    output_per_mu = fields.Float(dump_only=True, allow_none=True, metadata={"description": "亩均产值, 万元/亩"})
    yoy = fields.Nested(GrowthSchema, dump_only=True)
    source = fields.String(dump_only=True, validate=validate.OneOf(SOURCES))
    reported_by_id = fields.Integer(dump_only=True, allow_none=True)
    reported_at = AwareDateTime(dump_only=True)


class LinkedCadreSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)
    link_role = fields.String(dump_only=True)
    since = fields.Date(dump_only=True)


class ProblemCountsSchema(Schema):
    open = fields.Integer(dump_only=True)
    resolved = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True)


class EnterpriseProfileSchema(EnterpriseSchema):
    park = fields.Nested(ParkSchema, dump_only=True, allow_none=True)
    chain = fields.Nested(ChainSchema, dump_only=True, allow_none=True)
    linked_cadres = fields.List(fields.Nested(LinkedCadreSchema), dump_only=True)
    problems = fields.Nested(ProblemCountsSchema, dump_only=True)
    last_visit_at = AwareDateTime(dump_only=True, allow_none=True)
    latest_indicators = fields.Nested(IndicatorSchema, dump_only=True, allow_none=True)


class RankingQuerySchema(Schema):
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    year = Integer(
        validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR),
        metadata={"description": "Default: the latest year with full-year figures"},
    )
    quarter = Integer(
        validate=validate.Range(min=1, max=4), metadata={"description": "Rank one quarter instead of the full year"}
    )
    park_id = Id()
    chain_id = Id()
    limit = Integer(load_default=20, validate=validate.Range(min=1, max=100))


class RankingItemSchema(Schema):
    rank = fields.Integer(dump_only=True, metadata={"description": "Equal values share a rank (1, 2, 2, 4)"})
    enterprise_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    park_id = fields.Integer(dump_only=True, allow_none=True)
    park_name = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "The name of the park (园区) `park_id` refers to"}
    )
    chain_id = fields.Integer(dump_only=True, allow_none=True)
    chain_name = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The name of the industry chain (产业链) `chain_id` refers to"},
    )
    value = fields.Float(dump_only=True, metadata={"description": "万元/亩"})
    amount = fields.Float(dump_only=True, metadata={"description": "Tax paid or industrial output, 万元"})
    land_area_mu = fields.Float(dump_only=True)


class RankingSchema(Schema):
    metric = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True, allow_none=True)
    quarter = fields.Integer(dump_only=True, allow_none=True)
    period_label = fields.String(dump_only=True, allow_none=True)
    items = fields.List(fields.Nested(RankingItemSchema), dump_only=True)


class ImportQuerySchema(Schema):
    kind = fields.String(load_default="enterprises", validate=validate.OneOf(IMPORT_KINDS))
    partial = fields.Boolean(
        load_default=False, metadata={"description": "Import the valid rows even when some rows are bad"}
    )


class ImportFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX; header in row 1"})


class RowErrorSchema(Schema):
    row = fields.Integer(dump_only=True, metadata={"description": "Row number as in the spreadsheet (header = 1)"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), dump_only=True)


class ImportReportSchema(Schema):
    kind = fields.String(dump_only=True)
    imported = fields.Boolean(dump_only=True, metadata={"description": "Whether anything was written"})
    total_rows = fields.Integer(dump_only=True)
    valid_rows = fields.Integer(dump_only=True)
    created = fields.Integer(dump_only=True)
    updated = fields.Integer(dump_only=True)
    skipped = fields.Integer(dump_only=True)
    columns = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        dump_only=True,
        metadata={"description": "Field name -> header as found in the file"},
    )
    errors = fields.List(fields.Nested(RowErrorSchema), dump_only=True)


class ExportQuerySchema(Schema):
    kind = fields.String(load_default="enterprises", validate=validate.OneOf(IMPORT_KINDS))
    format = fields.String(load_default="csv", validate=validate.OneOf(EXPORT_FORMATS))
    park_id = Id()
    chain_id = Id()
    year = Integer(
        validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR), metadata={"description": "Indicators of this year only"}
    )


class ChangeAuthorSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class EnterpriseChangeSchema(Schema):
    """One changed field: who, when, the value before and after (as text; null when empty)."""

    id = fields.Integer(dump_only=True)
    changed_at = AwareDateTime(dump_only=True)
    changed_by = fields.Nested(ChangeAuthorSchema, dump_only=True, allow_none=True)
    field = fields.String(dump_only=True)
    old_value = fields.String(dump_only=True, allow_none=True)
    new_value = fields.String(dump_only=True, allow_none=True)
