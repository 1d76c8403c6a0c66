"""Writing and reading the statistics snapshots.

Writes are upserts keyed by (dimension, key), (interval, bucket) and (kind, term), followed by the
deletion of keys that no longer exist: running a job twice leaves the same rows, and a manual refresh
racing the scheduler cannot fail on a unique key (the last writer wins, both from committed data).
Rows are written in key order so two concurrent writers lock them in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from service_app.extensions import db
from service_app.stats.compute import NO_KEY, ZONE_LABEL, CommonItem, Counts, Group, TrendPoint
from service_app.stats.models import StatCommonProblem, StatFigure, StatTrendPoint


def _upsert(model, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in rows[0] if name not in keys}
    )
    db.session.execute(statement, sorted(rows, key=lambda row: tuple(row[k] for k in keys)))


def _delete_missing(model, key: str, present: list, **scope: Any) -> None:
    """Delete the rows of `scope` whose key is not among those just written."""
    condition = and_(*(getattr(model, name) == value for name, value in scope.items()))
    if present:
        condition = and_(condition, getattr(model, key).not_in(present))
    db.session.execute(delete(model).where(condition))


def _figure(
    dimension: str, key: int, code: str | None, label: str, counts: Counts, computed_at: datetime
) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "key": key,
        "code": code,
        "label": label,
        **counts.as_columns(),
        "computed_at": computed_at,
    }


def write_figures(*, zone: Counts, breakdowns: dict[str, list[Group]], computed_at: datetime) -> int:
    rows = [_figure("zone", NO_KEY, None, ZONE_LABEL, zone, computed_at)]
    for dimension, groups in breakdowns.items():
        rows += [_figure(dimension, g.key or NO_KEY, g.code, g.label, g.counts, computed_at) for g in groups]
    _upsert(StatFigure, rows, ("dimension", "key"))
    for dimension in ("zone", *breakdowns):
        _delete_missing(
            StatFigure, "key", [row["key"] for row in rows if row["dimension"] == dimension], dimension=dimension
        )
    return len(rows)


def write_trend(*, interval: str, points: list[TrendPoint], computed_at: datetime) -> int:
    rows = [
        {
            "interval": interval,
            "bucket": p.bucket,
            **p.counts.as_columns(),
            "resolved_in_bucket": p.resolved_in_bucket,
            "computed_at": computed_at,
        }
        for p in points
    ]
    _upsert(StatTrendPoint, rows, ("interval", "bucket"))
    _delete_missing(StatTrendPoint, "bucket", [p.bucket for p in points], interval=interval)
    return len(rows)


def write_common(*, items: list[CommonItem], computed_at: datetime) -> int:
    ranks: dict[str, int] = {}
    rows = []
    for item in items:
        ranks[item.kind] = ranks.get(item.kind, 0) + 1
        rows.append(
            {
                "kind": item.kind,
                "term": item.term[:64],
                "label": item.label[:128],
                "category_id": item.category_id,
                "rank": ranks[item.kind],
                "enterprises": item.enterprises,
                "problems": item.problems,
                "resolved": item.resolved,
                "computed_at": computed_at,
            }
        )
    _upsert(StatCommonProblem, rows, ("kind", "term"))
    for kind in ("category", "theme"):
        _delete_missing(StatCommonProblem, "term", [r["term"] for r in rows if r["kind"] == kind], kind=kind)
    return len(rows)


@cache
def _figure_statement():
    """Built once per process (SQLAlchemy keeps its cache key); Core rows, since the summary only reads
    the figures: no ORM entity to build and track for a read-only snapshot."""
    table = StatFigure.__table__
    return select(table).where(table.c.dimension == bindparam("dimension"), table.c.key == bindparam("key"))


def read_figure(dimension: str, key: int) -> Any | None:
    """The snapshot row (its columns as attributes), or None: a Core row from the session's
    connection (a plain table read needs nothing of the session's execution)."""
    return db.session.connection().execute(_figure_statement(), {"dimension": dimension, "key": key}).first()


def read_breakdown(dimension: str) -> list[StatFigure]:
    """The dimension's rows and the zone row (for shares), in one indexed statement."""
    return list(
        db.session.scalars(
            select(StatFigure).where(
                or_(StatFigure.dimension == dimension, and_(StatFigure.dimension == "zone", StatFigure.key == NO_KEY))
            )
        )
    )


def read_trend(interval: str) -> list[StatTrendPoint]:
    return list(
        db.session.scalars(
            select(StatTrendPoint).where(StatTrendPoint.interval == interval).order_by(StatTrendPoint.bucket)
        )
    )


def read_common() -> list[StatCommonProblem]:
    return list(db.session.scalars(select(StatCommonProblem).order_by(StatCommonProblem.kind, StatCommonProblem.rank)))
