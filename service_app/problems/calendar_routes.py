"""The working-day calendar: GET /calendar/{year} (anyone signed in), PUT /calendar/{year} (admins).

It lives with the problems because loading a year recounts their provisional deadlines
(`problems.deadlines`); the calendar itself is `service_app.workdays`.
"""

from __future__ import annotations

from marshmallow import fields, validate

from service_app.auth.models import Role
from service_app.auth.permissions import login_required, roles_required
from service_app.common.api import Blueprint, error_responses
from service_app.common.schemas import Date, Schema, Text
from service_app.errors import NotFound
from service_app.problems import deadlines
from service_app.workdays.models import DAY_KINDS

blp = Blueprint("calendar", __name__, url_prefix="/api/v1", description="工作日历 / Working-day calendar")

FIRST_YEAR, LAST_YEAR = 2000, 2099


class CalendarDaySchema(Schema):
    date = Date(required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(DAY_KINDS), metadata={"description": "holiday | workday"}
    )
    name = Text(
        required=True, validate=validate.Length(min=1, max=64), metadata={"description": "e.g. 国庆节, 国庆节调休"}
    )


class CalendarYearSchema(Schema):
    year = fields.Integer(dump_only=True)
    covered = fields.Boolean(
        dump_only=True, metadata={"description": "False: deadlines in this year count weekdays only"}
    )
    days = fields.List(fields.Nested(CalendarDaySchema), dump_only=True)


class CalendarPutSchema(Schema):
    days = fields.List(
        fields.Nested(CalendarDaySchema),
        required=True,
        validate=validate.Length(max=366),
        metadata={"description": "Every exception of the year: holidays on weekdays, make-up working days"},
    )


def _year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise NotFound()
    return year


@blp.route("/calendar/<int:year>", methods=["GET"])
@login_required
@blp.response(200, CalendarYearSchema)
@blp.doc(responses=error_responses(404))
def get_calendar(year):
    """工作日历 / A year's working-day calendar.

    该年相对“周一至周五工作”规则的例外：法定节假日与调休上班日。
    The exceptions to the weekday rule: statutory holidays and make-up working days.
    """
    return deadlines.calendar_year(year=_year(year))


@blp.route("/calendar/<int:year>", methods=["PUT"])
@roles_required(Role.ADMIN)
@blp.arguments(CalendarPutSchema)
@blp.response(200, CalendarYearSchema)
@blp.doc(responses=error_responses(404, 422))
def put_calendar(data, year):
    """设置工作日历 / Replace a year's calendar (admins).

    按国务院办公厅通知录入该年的节假日与调休，替换原有例外；按暂定时限计算的问题随之重算。
    From the State Council's notice; replaces that year's exceptions, and provisional deadlines are recounted.
    """
    return deadlines.replace_year(year=_year(year), days=data["days"])
