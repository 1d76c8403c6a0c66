"""What the statistics endpoints take and return."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from marshmallow import ValidationError, fields, validate

from service_app.common.i18n import bilingual
from service_app.common.schemas import AwareDateTime, Id, Integer, Schema, check_day
from service_app.common.time import SHANGHAI
from service_app.stats.compute import INTERVALS


class PeriodBound(AwareDateTime):
    """A date (a whole Asia/Shanghai day) or an ISO 8601 datetime (naive means UTC), in the app's calendar.

    `from=2019-03-01` starts at that day's local midnight; `to=2019-08-31` includes that day, so
    the bound used is the next local midnight (periods are half-open: from <= t < to).
    """

    def __init__(self, *, end: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.end = end

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if not isinstance(value, str):
            raise ValidationError(bilingual("须为日期或日期时间", "Must be a date or a datetime"))
        if len(value) != 10:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(bilingual("须为日期或日期时间", "Must be a date or a datetime")) from None
        day = check_day(day) + timedelta(days=1 if self.end else 0)
        return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)


class PeriodQuerySchema(Schema):
    start = PeriodBound(
        data_key="from", load_default=None, metadata={"description": "Date (Asia/Shanghai) or datetime; inclusive"}
    )
    end = PeriodBound(
        data_key="to",
        end=True,
        load_default=None,
        metadata={"description": "Date (inclusive, Asia/Shanghai) or datetime (exclusive)"},
    )


def _id_field():
    # Bounded like every id (a 32-bit key): beyond it the database, not the schema, would refuse the value.
    return Id(load_default=None)


class SummaryQuerySchema(PeriodQuerySchema):
    park_id = _id_field()
    chain_id = _id_field()
    department_id = _id_field()


class TrendQuerySchema(SummaryQuerySchema):
    interval = fields.String(load_default="day", validate=validate.OneOf(INTERVALS))


class CommonQuerySchema(SummaryQuerySchema):
    min_enterprises = Integer(load_default=None, validate=validate.Range(min=2, max=10000))


class ExportQuerySchema(SummaryQuerySchema):
    format = fields.String(required=True, validate=validate.OneOf(("csv", "xlsx")))


def _rate(description: str):
    return fields.Float(allow_none=True, metadata={"description": f"{description}; null when the denominator is 0"})


class MetricsSchema(Schema):
    total = fields.Integer(metadata={"description": "Problems filed"})
    resolved = fields.Integer(metadata={"description": "Status resolved or closed"})
    resolution_rate = _rate("resolved / total")
    response_rate = _rate("answered by the response deadline / answered or past it")
    open = fields.Integer(
        metadata={"description": "Submitted, accepted, dispatched, in progress or awaiting information"}
    )
    in_progress = fields.Integer(metadata={"description": "Status in_progress"})
    awaiting_info = fields.Integer(metadata={"description": "Waiting for the enterprise's information (clock stopped)"})
    urge_count = fields.Integer(metadata={"description": "Times the enterprises urged (催办)"})
    overdue = fields.Integer(metadata={"description": "Open, clock running, past due_at"})
    supervised = fields.Integer(metadata={"description": "Open and under supervision (督办中)"})
    on_time_rate = _rate("resolved by due_at / resolved")
    satisfaction_rate = _rate("latest rating >= 3 / rated problems")
    avg_resolution_hours = fields.Float(allow_none=True)
    visits = fields.Integer(allow_none=True, metadata={"description": "Check-ins; null where visits do not apply"})


class MetricsWithCoverageSchema(MetricsSchema):
    coverage = _rate("linked enterprises visited in the last 30 days / linked enterprises")


class SummarySchema(MetricsWithCoverageSchema):
    computed_at = AwareDateTime()


class RowHeadSchema(Schema):
    key = fields.Integer(
        allow_none=True, metadata={"description": "Id of the category, department, park, chain or cadre; null: none"}
    )
    code = fields.String(allow_none=True)
    label = fields.String()
    share = _rate("total / all problems")


class BreakdownRowSchema(MetricsWithCoverageSchema, RowHeadSchema):
    """The head fields, then the same figures as a summary."""


class BreakdownSchema(Schema):
    dimension = fields.String()
    computed_at = AwareDateTime()
    rows = fields.List(fields.Nested(BreakdownRowSchema))


class TrendPointSchema(MetricsSchema):
    bucket = fields.String(metadata={"description": "First day of the day, ISO week or month (Asia/Shanghai)"})
    resolved_in_bucket = fields.Integer(
        metadata={"description": "Problems whose current resolution falls in the bucket"}
    )


class TrendSchema(Schema):
    interval = fields.String()
    computed_at = AwareDateTime()
    points = fields.List(fields.Nested(TrendPointSchema))


class CommonCategorySchema(Schema):
    key = fields.Integer(metadata={"description": "Category id"})
    code = fields.String()
    label = fields.String()
    enterprises = fields.Integer(metadata={"description": "Different enterprises that raised it"})
    problems = fields.Integer()
    resolved = fields.Integer()


class CommonThemeSchema(Schema):
    term = fields.String(metadata={"description": "A recurring phrase of problem titles"})
    enterprises = fields.Integer()
    problems = fields.Integer()
    resolved = fields.Integer()


class CommonProblemsSchema(Schema):
    computed_at = AwareDateTime()
    min_enterprises = fields.Integer()
    start = AwareDateTime(data_key="from", allow_none=True)
    end = AwareDateTime(data_key="to", allow_none=True)
    categories = fields.List(fields.Nested(CommonCategorySchema))
    themes = fields.List(fields.Nested(CommonThemeSchema))
