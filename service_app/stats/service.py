"""Statistics: served from the snapshots the jobs write, computed on demand for arbitrary periods.

Without `from`/`to`, the zone summary, the summary of one park, chain, department or cadre, each
breakdown, each trend and the common problems are single indexed reads of a snapshot. With a period
(or filters combined, e.g. a park and a chain) the same `compute` functions run on demand, so both
paths give the same figures for the same data. Before the first snapshot exists, reads compute too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from service_app.auth.models import Role, User
from service_app.common.i18n import bilingual
from service_app.common.references import check_references
from service_app.common.tabular import ExportFile, export_file
from service_app.common.time import utcnow
from service_app.errors import Forbidden, ValidationFailed
from service_app.extensions import db
from service_app.org.models import Chain, Department, Park
from service_app.stats import compute, snapshots
from service_app.stats import export as stats_export
from service_app.stats.compute import NO_KEY, Scope


def _check_period(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise ValidationFailed(errors={"to": [bilingual("结束时间须晚于开始时间", "Must be after 'from'")]})


def scope_for(
    actor: User,
    *,
    park_id: int | None = None,
    chain_id: int | None = None,
    department_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Scope:
    """The problems `actor` may count: managers all, a cadre its own, a department its own."""
    _check_period(start, end)
    check_references(
        park_id=(Park.id, park_id), chain_id=(Chain.id, chain_id), department_id=(Department.id, department_id)
    )
    scope = dict(park_id=park_id, chain_id=chain_id, department_id=department_id, start=start, end=end)
    if actor.role == Role.MANAGER.value:
        return Scope(**scope)
    if actor.role == Role.CADRE.value:
        return Scope(**scope, cadre_id=actor.id)
    if actor.role == Role.DEPARTMENT.value and actor.department_id is not None:
        if department_id not in (None, actor.department_id):
            raise Forbidden(zh="只能查看本部门的统计", en="A department sees only its own statistics")
        return Scope(**{**scope, "department_id": actor.department_id})
    raise Forbidden()


def _snapshot_key(scope: Scope) -> tuple[str, int] | None:
    """The snapshot row holding this scope's figures, if one does (no period, at most one filter)."""
    filters = scope.filters()
    if scope.has_period or len(filters) > 1:
        return None
    if not filters:
        return ("zone", NO_KEY)
    return next(iter(filters.items()))


def _summary(counts: Any, computed_at: datetime) -> dict[str, Any]:
    return {**compute.metrics(counts), "computed_at": computed_at}


def summary(actor: User, **filters: Any) -> dict[str, Any]:
    """The summary figures of the actor's scope, narrowed by park, chain, department and period."""
    return summary_of(scope_for(actor, **filters))


def summary_of(scope: Scope) -> dict[str, Any]:
    key = _snapshot_key(scope)
    row = snapshots.read_figure(*key) if key else None
    if row is not None:
        return _summary(row, row.computed_at)
    now = utcnow()
    return _summary(compute.compute_counts(now=now, scope=scope), now)


def _row(*, key: int | None, code: str | None, label: str, counts: Any, zone_total: int) -> dict[str, Any]:
    return {
        "key": key,
        "code": code,
        "label": label,
        "share": compute.share(counts.total, zone_total),
        **compute.metrics(counts),
    }


def _sorted_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["total"], r["key"] is None, r["key"] or 0))


def breakdown(actor: User, dimension: str, **filters: Any) -> dict[str, Any]:
    """Figures by category, department, park, chain or cadre within the actor's scope."""
    return breakdown_of(dimension, scope_for(actor, **filters))


def breakdown_of(dimension: str, scope: Scope) -> dict[str, Any]:
    """Each group's figures, with its share of all problems in `scope` (the zone: its snapshot)."""
    figures = snapshots.read_breakdown(dimension) if scope == compute.ZONE else []
    zone = next((f for f in figures if f.dimension == "zone"), None)
    groups = [f for f in figures if f.dimension == dimension]
    if zone is not None and groups:
        rows = [
            _row(key=None if f.key == NO_KEY else f.key, code=f.code, label=f.label, counts=f, zone_total=zone.total)
            for f in groups
        ]
        return {"dimension": dimension, "computed_at": zone.computed_at, "rows": _sorted_rows(rows)}
    now = utcnow()
    total = compute.compute_counts(now=now, scope=scope).total
    groups = compute.compute_breakdown(now=now, dimension=dimension, scope=scope)
    rows = [_row(key=g.key, code=g.code, label=g.label, counts=g.counts, zone_total=total) for g in groups]
    return {"dimension": dimension, "computed_at": now, "rows": _sorted_rows(rows)}


def _point(bucket: str, counts: Any, resolved_in_bucket: int) -> dict[str, Any]:
    figures = compute.metrics(counts)
    figures.pop("coverage")
    return {"bucket": bucket, **figures, "resolved_in_bucket": resolved_in_bucket}


def trend(actor: User, interval: str, **filters: Any) -> dict[str, Any]:
    """The figures of the actor's scope per day, ISO week or month."""
    return trend_of(interval, scope_for(actor, **filters))


def trend_of(interval: str, scope: Scope) -> dict[str, Any]:
    """Figures per day, ISO week or month (Asia/Shanghai), by filing date (the zone: from its snapshot)."""
    stored = snapshots.read_trend(interval) if scope == compute.ZONE else []
    if stored:
        points = [_point(p.bucket, p, p.resolved_in_bucket) for p in stored]
        return {"interval": interval, "computed_at": max(p.computed_at for p in stored), "points": points}
    now = utcnow()
    points = [
        _point(p.bucket, p.counts, p.resolved_in_bucket)
        for p in compute.compute_trend(now=now, interval=interval, scope=scope)
    ]
    return {"interval": interval, "computed_at": now, "points": points}


def _common_settings() -> tuple[int, int]:
    config = current_app.config
    return config["STATS_COMMON_MIN_ENTERPRISES"], config["STATS_COMMON_THEMES"]


def _common_body(items: list[Any], *, computed_at: datetime, min_enterprises: int, scope: Scope) -> dict[str, Any]:
    def entry(item: Any) -> dict[str, Any]:
        return {"enterprises": item.enterprises, "problems": item.problems, "resolved": item.resolved}

    return {
        "computed_at": computed_at,
        "min_enterprises": min_enterprises,
        "start": scope.start,
        "end": scope.end,
        "categories": [
            {"key": i.category_id, "code": i.term, "label": i.label, **entry(i)} for i in items if i.kind == "category"
        ],
        "themes": [{"term": i.term, **entry(i)} for i in items if i.kind == "theme"],
    }


def common_problems(actor: User, *, min_enterprises: int | None = None, **filters: Any) -> dict[str, Any]:
    """The common problems within the actor's scope."""
    return common_of(scope_for(actor, **filters), min_enterprises=min_enterprises)


def common_of(scope: Scope, *, min_enterprises: int | None = None) -> dict[str, Any]:
    """Categories and title themes raised by at least `min_enterprises` different enterprises."""
    default_min, themes = _common_settings()
    minimum = min_enterprises or default_min
    if scope == compute.ZONE and minimum == default_min:
        stored = snapshots.read_common()
        if stored:
            return _common_body(stored, computed_at=stored[0].computed_at, min_enterprises=minimum, scope=scope)
    now = utcnow()
    items = compute.compute_common(scope=scope, min_enterprises=minimum, themes=themes)
    return _common_body(items, computed_at=now, min_enterprises=minimum, scope=scope)


# --- writing snapshots (the jobs and the refresh endpoint) --------------------------------------


def _write_current(now: datetime) -> int:
    zone = compute.compute_counts(now=now)
    breakdowns = {
        dimension: compute.compute_breakdown(now=now, dimension=dimension) for dimension in compute.DIMENSIONS
    }
    written = snapshots.write_figures(zone=zone, breakdowns=breakdowns, computed_at=now)
    minimum, themes = _common_settings()
    items = compute.compute_common(scope=compute.ZONE, min_enterprises=minimum, themes=themes)
    return written + snapshots.write_common(items=items, computed_at=now)


def _write_trends(now: datetime) -> int:
    return sum(
        snapshots.write_trend(
            interval=interval, points=compute.compute_trend(now=now, interval=interval), computed_at=now
        )
        for interval in compute.INTERVALS
    )


def write_current_snapshot(*, now: datetime) -> int:
    """Recompute the summary, breakdown and common-problem snapshots; returns the rows written."""
    written = _write_current(now)
    db.session.commit()
    return written


def write_trend_snapshot(*, now: datetime) -> int:
    """Recompute every trend point (old cohorts change as their problems get resolved)."""
    written = _write_trends(now)
    db.session.commit()
    return written


def refresh(*, now: datetime | None = None) -> dict[str, Any]:
    """Recompute every snapshot now and return the new zone summary."""
    now = now or utcnow()
    _write_current(now)
    _write_trends(now)
    db.session.commit()
    row = snapshots.read_figure("zone", NO_KEY)
    return _summary(row, row.computed_at)


# --- export -------------------------------------------------------------------------------------


def export(actor: User, file_format: str, **filters: Any) -> ExportFile:
    """The summary, breakdowns, monthly trend and common problems of the actor's scope as one file."""
    scope = scope_for(actor, **filters)
    sheets = stats_export.sheets(
        summary=summary_of(scope),
        breakdowns={dimension: breakdown_of(dimension, scope) for dimension in compute.DIMENSIONS},
        trend=trend_of("month", scope),
        common=common_of(scope),
    )
    return export_file(sheets, file_format=file_format, name="lianqi-stats")
