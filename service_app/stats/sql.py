"""Portable SQL for the statistics: the few expressions SQLite and PostgreSQL spell differently.

Local-time buckets: PostgreSQL converts with its time-zone database (`AT TIME ZONE`). SQLite has
none, so it shifts by the zone's UTC offset; Asia/Shanghai has kept +08:00 without daylight
saving since 1991, so the shift is exact for every date this service stores.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from service_app.common.time import SHANGHAI

ZONE_NAME = "Asia/Shanghai"
_OFFSET_MINUTES = int(SHANGHAI.utcoffset(datetime(2000, 1, 1)).total_seconds() // 60)


class _LocalBucket(FunctionElement):
    """First local day of the bucket holding a UTC timestamp, as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True
    _pg_unit = "day"
    _sqlite_modifiers: tuple[str, ...] = ()


class local_day(_LocalBucket):
    inherit_cache = True
    name = "local_day"


class local_week(_LocalBucket):
    """ISO weeks: Monday to Sunday."""

    inherit_cache = True
    name = "local_week"
    _pg_unit = "week"
    # 'weekday 0' moves forward to Sunday (staying on a Sunday); six days back is that week's Monday.
    _sqlite_modifiers = ("weekday 0", "-6 days")


class local_month(_LocalBucket):
    inherit_cache = True
    name = "local_month"
    _pg_unit = "month"
    _sqlite_modifiers = ("start of month",)


BUCKETS = {"day": local_day, "week": local_week, "month": local_month}


@compiles(_LocalBucket, "postgresql")
def _bucket_pg(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"to_char(date_trunc('{element._pg_unit}', {column} AT TIME ZONE '{ZONE_NAME}'), 'YYYY-MM-DD')"


@compiles(_LocalBucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    modifiers = "".join(f", '{m}'" for m in (f"{_OFFSET_MINUTES:+d} minutes", *element._sqlite_modifiers))
    return f"date({column}{modifiers})"


class seconds_between(FunctionElement):
    """Seconds from the first timestamp to the second."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


class codepoint(FunctionElement):
    """Unicode code point of a one-character string (0 for an empty one)."""

    type = Integer()
    inherit_cache = True
    name = "codepoint"


@compiles(codepoint, "postgresql")
def _codepoint_pg(element, compiler, **kw):
    # ascii() returns the code point in a UTF8 database.
    return f"ascii({compiler.process(list(element.clauses)[0], **kw)})"


@compiles(codepoint, "sqlite")
def _codepoint_sqlite(element, compiler, **kw):
    return f"coalesce(unicode({compiler.process(list(element.clauses)[0], **kw)}), 0)"
