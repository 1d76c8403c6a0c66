"""Base schema and shared fields: unknown fields are rejected everywhere (marshmallow RAISE).

Input classes are settled here once, for every schema of the app:
- strings: a lone UTF-16 surrogate or a NUL character (which JSON allows but neither database can
  store) is refused by the base schema before any field is read, keys included;
- numbers: in a JSON document an integer must be a JSON integer and a number a JSON number
  (`1.5` is not an id, `"27.7"` is not a latitude); query strings and forms are text and parsed;
- dates and datetimes lie in [1900-01-01, 2100-01-01) or are refused naming the field, never clamped.
A test (tests/test_input_classes.py) asserts that every loadable field uses these types.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from service_app.common.i18n import bilingual

# Primary keys are 32-bit integers on PostgreSQL; larger values must be a 422, not a database error.
MAX_ID = 2**31 - 1
# The calendar the app accepts: wide enough for any real date, narrow enough for every database
# and for arithmetic (a time zone shift or a deadline extension) not to overflow.
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 1, 1)  # exclusive
_EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST_MOMENT = datetime(2100, 1, 1, tzinfo=UTC)

# True while a query string, form or spreadsheet row is loaded: values arrive as text and are parsed.
_TEXT_INPUT: ContextVar[bool] = ContextVar("text_input", default=False)
_DECIMAL_TEXT = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")


@contextmanager
def text_input() -> Iterator[None]:
    """Load values that are text by nature (query strings, forms, spreadsheet cells)."""
    token = _TEXT_INPUT.set(True)
    try:
        yield
    finally:
        _TEXT_INPUT.reset(token)


def storable_text_error(value: str) -> str | None:
    """Why `value` cannot be stored as text by PostgreSQL or SQLite, or None."""
    if "\x00" in value:
        return bilingual("不能包含空字符（NUL）", "Must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return bilingual("包含无效的 Unicode 字符（孤立代理项）", "Contains an invalid character (lone surrogate)")
    return None


def unstorable_strings(value: Any) -> Any:
    """Errors for every string (or key) in a decoded document the databases cannot store, shaped
    like marshmallow's (field → messages, list index → …), or None."""
    if isinstance(value, str):
        message = storable_text_error(value)
        return [message] if message else None
    if isinstance(value, (list, tuple)):
        found = {index: unstorable_strings(item) for index, item in enumerate(value)}
    elif hasattr(value, "items") and hasattr(value, "keys"):
        found = {}
        for key in value.keys():
            key_error = storable_text_error(key) if isinstance(key, str) else None
            if key_error:
                found["_schema"] = [key_error]  # the key itself cannot be echoed back
                continue
            found[key] = unstorable_strings(value[key])
    else:
        return None
    found = {key: errors for key, errors in found.items() if errors}
    return found or None


class Schema(ma.Schema):
    """Every API schema derives from this: unknown fields raise, output keeps declaration order."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_unstorable_strings(self, data: Any, **_kwargs) -> Any:
        errors = unstorable_strings(data)
        if errors:
            raise ma.ValidationError(errors)
        return data


class ErrorSchema(Schema):
    """The one error shape (documentation only). Some errors add context keys, e.g. a 409's
    `current_status` and `allowed_actions`, or a 415's `allowed` types, hence INCLUDE."""

    class Meta:
        unknown = ma.INCLUDE

    code = fields.Integer(metadata={"description": "HTTP status code"})
    status = fields.String(metadata={"description": "HTTP reason phrase"})
    message = fields.String(metadata={"description": "Human text: zh-CN by default, en with Accept-Language: en"})
    error_code = fields.String(metadata={"description": "Stable machine-readable code"})
    errors = fields.Dict(metadata={"description": "Field name -> list of messages (422)"})


class Text(fields.String):
    """User text: stripped (NUL and lone surrogates are refused by the base schema)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Integer(fields.Integer):
    """An integer: a JSON integer in a body (not 1.5, "1" or true); parsed from text in a query."""

    def __init__(self, **kwargs):
        kwargs["strict"] = True
        super().__init__(**kwargs)

    def _validated(self, value: Any) -> int:
        if _TEXT_INPUT.get() and isinstance(value, str):
            value = _parse_text(value, int, self)
        return super()._validated(value)


class Float(fields.Float):
    """A finite number: a JSON number in a body (not "27.7"); parsed from text in a query."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_nan", False)
        super().__init__(**kwargs)

    def _validated(self, value: Any) -> float:
        _check_json_number(value, self)
        return super()._validated(value)


class DecimalNumber(fields.Decimal):
    """An exact amount: a JSON number, or its plain decimal text ("1000.50", as money is often sent
    to keep every digit) — not "1e5", "NaN" or " 12"; parsed from text in a query or spreadsheet."""

    def _validated(self, value: Any):
        if not (isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value)):
            _check_json_number(value, self)
        return super()._validated(value)


def _check_json_number(value: Any, field: fields.Field) -> None:
    if _TEXT_INPUT.get():
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise field.make_error("invalid", input=value)


def _parse_text(value: str, kind: type, field: fields.Field) -> Any:
    try:
        return kind(value.strip())
    except ValueError:
        raise field.make_error("invalid", input=value) from None


def _out_of_calendar() -> ma.ValidationError:
    return ma.ValidationError(
        bilingual("日期须在 1900-01-01 至 2099-12-31 之间", "Dates must lie between 1900-01-01 and 2099-12-31")
    )


def check_moment(value: datetime) -> datetime:
    """An aware datetime inside the accepted calendar (compared before any time zone shift,
    which could overflow at year 1 or 9999)."""
    if not _EARLIEST_MOMENT <= value < _LATEST_MOMENT:
        raise _out_of_calendar()
    return value


def check_day(value: date) -> date:
    """A date inside the accepted calendar."""
    if not EARLIEST <= value < LATEST:
        raise _out_of_calendar()
    return value


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with offset; naive input is read as UTC; bounded to [1900-01-01, 2100-01-01)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        return check_moment(super()._deserialize(value, attr, data, **kwargs))


class Date(fields.Date):
    """An ISO 8601 date in [1900-01-01, 2100-01-01)."""

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        return check_day(super()._deserialize(value, attr, data, **kwargs))


class Id(Integer):
    """A reference to a row: a positive 32-bit integer (in a body or a query string)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)
