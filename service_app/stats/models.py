"""Statistics snapshots: counts computed by the statistics jobs, read back by single indexed lookups.

Rows hold counts, not rates: the rates are derived from the counts by one function
(`compute.metrics`) whether the counts come from a snapshot or from an on-demand computation,
so the JSON, the export and the on-demand figures can never disagree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service_app.common.types import UTCDateTime
from service_app.extensions import db


class CountColumns:
    """The counts every statistic is derived from (see `stats.compute` for their definitions)."""

    total: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    awaiting_info: Mapped[int] = mapped_column(Integer, default=0)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    supervised: Mapped[int] = mapped_column(Integer, default=0)
    response_counted: Mapped[int] = mapped_column(Integer, default=0)
    responded_on_time: Mapped[int] = mapped_column(Integer, default=0)
    resolved_on_time: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    resolution_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # NULL where the figure does not apply (departments and categories make no visits).
    visits: Mapped[int | None] = mapped_column(Integer)
    coverage_linked: Mapped[int | None] = mapped_column(Integer)
    coverage_visited: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatFigure(CountColumns, db.Model):
    """The figures of the zone (`dimension='zone'`, key 0) and of each category, department, park,
    chain and cadre: the summary of one scope and one row of a breakdown are the same row.

    `key` is the id of the category/department/park/chain/cadre, 0 for the zone and for the
    problems with no park or chain (NULL would defeat the unique key the upsert relies on).
    """

    __tablename__ = "stat_figures"
    __table_args__ = (UniqueConstraint("dimension", "key", name="uq_stat_figures_dimension_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[int] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))


class StatTrendPoint(CountColumns, db.Model):
    """One bucket (day, ISO week or month, Asia/Shanghai) of the zone's trend.

    The counts describe the problems filed in the bucket (a cohort, with their status now);
    `resolved_in_bucket` counts the problems whose current resolution falls in the bucket.
    """

    __tablename__ = "stat_trend_points"
    __table_args__ = (UniqueConstraint("interval", "bucket", name="uq_stat_trend_points_interval_bucket"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interval: Mapped[str] = mapped_column(String(8))
    # First local day of the bucket, ISO 'YYYY-MM-DD' (sorts as it reads).
    bucket: Mapped[str] = mapped_column(String(10))
    resolved_in_bucket: Mapped[int] = mapped_column(Integer, default=0)


class StatCommonProblem(db.Model):
    """共性问题: a category, or a recurring title theme, raised by several different enterprises."""

    __tablename__ = "stat_common_problems"
    __table_args__ = (UniqueConstraint("kind", "term", name="uq_stat_common_problems_kind_term"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # category | theme
    # The category's code, or the theme's text.
    term: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    category_id: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    enterprises: Mapped[int] = mapped_column(Integer)
    problems: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
