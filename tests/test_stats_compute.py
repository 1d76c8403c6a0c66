"""Each statistic against counts made by hand on a small data set (DESIGN.md §4 definitions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from service_app.extensions import db
from service_app.stats import compute, service
from service_app.stats.compute import Scope
from tests.factories import (
    CadreFactory,
    CategoryFactory,
    ChainFactory,
    DepartmentFactory,
    EnterpriseFactory,
    LinkFactory,
    ParkFactory,
)
from tests.factories_stats import EventFactory, ProblemFactory, VisitFactory, rate

NOW = datetime(2019, 7, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class World:
    problems: dict
    parks: dict
    chain: object
    cadres: dict
    departments: dict
    enterprises: dict
    category: object


@pytest.fixture
def world(app_ctx) -> World:
    """Eight problems covering every case the definitions distinguish."""
    park_a, park_b, chain = ParkFactory(), ParkFactory(), ChainFactory()
    e1 = EnterpriseFactory(park=park_a, chain=chain)
    e2 = EnterpriseFactory(park=park_a)
    e3 = EnterpriseFactory(park=park_b)
    e4 = EnterpriseFactory()
    c1, c2, c3 = CadreFactory(), CadreFactory(), CadreFactory()
    for cadre, enterprise in ((c1, e1), (c1, e2), (c2, e3), (c3, e4)):
        LinkFactory(cadre=cadre, enterprise=enterprise)
    d1, d2 = DepartmentFactory(), DepartmentFactory()
    category = CategoryFactory()
    t = datetime(2019, 6, 1, 2, 0, tzinfo=UTC)

    def problem(enterprise, **fields):
        fields.setdefault("created_at", t)
        return ProblemFactory(enterprise=enterprise, category=category, cadre_id=None, **fields)

    p = {}
    # Resolved in 24 h, answered in 2 h, dispatched to d1, rated 5.
    p[1] = problem(e1, status="resolved", first_response_at=t + 2 * H, resolved_at=t + 24 * H, department_id=d1.id)
    EventFactory(problem_id=p[1].id, action="dispatch", department_id=d1.id)  # a dispatch always leaves its row
    rate(p[1], 5)
    # Closed after a reopen: answered late, resolved late (240 h), first rated 2 then 4; returned by d1.
    p[2] = problem(
        e1,
        created_at=t + 2 * D,
        status="closed",
        first_response_at=t + 2 * D + 30 * H,
        resolved_at=t + 12 * D,
        department_id=d2.id,
        reopen_count=1,
    )
    rate(p[2], 2, resolution_no=0)
    rate(p[2], 4, resolution_no=1)
    EventFactory(problem_id=p[2].id, action="dispatch", department_id=d1.id)
    EventFactory(problem_id=p[2].id, action="dispatch", department_id=d2.id)
    # Reopened after a rating of 1, in progress again and overdue.
    p[3] = problem(e2, status="in_progress", first_response_at=t + 1 * H, reopen_count=1)
    rate(p[3], 1)
    # Rejected duplicate, answered on time.
    p[4] = problem(e3, status="rejected", first_response_at=t + 3 * H)
    # Just filed: neither answered nor past its response deadline, not yet due.
    p[5] = problem(e3, created_at=NOW - 2 * H, status="submitted")
    # Never answered: past both deadlines.
    p[6] = problem(e4, status="submitted")
    # Resolved in 48 h by cadre c2 (not linked to e4), unrated.
    p[7] = problem(
        e4,
        created_at=t + 9 * D,
        status="resolved",
        first_response_at=t + 9 * D + H,
        resolved_at=t + 11 * D,
        handler_id=c2.id,
    )
    # Dispatched to d1 recently, on time so far.
    p[8] = problem(
        e2, created_at=NOW - 30 * H, status="dispatched", first_response_at=NOW - 29 * H, department_id=d1.id
    )
    EventFactory(problem_id=p[8].id, action="dispatch", department_id=d1.id)
    VisitFactory(cadre_id=c1.id, enterprise_id=e1.id, recorded_at=NOW - 11 * D)
    VisitFactory(cadre_id=c1.id, enterprise_id=e2.id, recorded_at=NOW - 40 * D)
    VisitFactory(cadre_id=c2.id, enterprise_id=e3.id, recorded_at=NOW - 6 * D)
    return World(
        p,
        {"a": park_a, "b": park_b},
        chain,
        {"c1": c1, "c2": c2, "c3": c3},
        {"d1": d1, "d2": d2},
        {"e1": e1, "e2": e2, "e3": e3, "e4": e4},
        category,
    )


def figures(scope: Scope = compute.ZONE) -> dict:
    return compute.metrics(compute.compute_counts(now=NOW, scope=scope))


def test_supervised_counts_the_open_problems_under_supervision(world):
    """督办中: a supervised problem counts while it is open, not once resolved; in every scope."""
    p = world.problems
    for number in (1, 3, 8):  # resolved; in progress; dispatched to d1
        p[number].supervised = True
    db.session.commit()
    assert compute.compute_counts(now=NOW).supervised == 2
    assert figures(Scope(department_id=world.departments["d1"].id))["supervised"] == 1
    assert figures(Scope(department_id=world.departments["d2"].id))["supervised"] == 0
    assert service.refresh(now=NOW)["supervised"] == 2  # the snapshot carries it too


def test_zone_figures_match_hand_counts(world):
    counts = compute.compute_counts(now=NOW)
    assert (counts.total, counts.resolved, counts.rejected, counts.open, counts.overdue) == (8, 3, 1, 4, 2)
    assert (counts.in_progress, counts.awaiting_info, counts.urge_count) == (1, 0, 0)
    # Answered: 1,2,3,4,7,8; past the deadline unanswered: 6; problem 5 is in neither count.
    assert (counts.response_counted, counts.responded_on_time) == (7, 5)
    assert (counts.resolved_on_time, counts.rated, counts.satisfied) == (2, 3, 2)
    assert figures() == {
        "total": 8,
        "resolved": 3,
        "resolution_rate": round(3 / 8, 4),
        "response_rate": round(5 / 7, 4),
        "open": 4,
        "in_progress": 1,
        "awaiting_info": 0,
        "urge_count": 0,
        "overdue": 2,
        "supervised": 0,
        "on_time_rate": round(2 / 3, 4),
        "satisfaction_rate": round(2 / 3, 4),
        "avg_resolution_hours": round((24 + 240 + 48) / 3, 1),
        "visits": 3,
        # e1 and e3 visited by their cadre in the last 30 days, e2 40 days ago, e4 never.
        "coverage": 0.5,
    }


def test_scopes_follow_visibility_rules(world):
    c, d, p = world.cadres, world.departments, world.parks
    # A cadre: its linked enterprises' problems, and those it handles (c2 handled problem 7).
    assert figures(Scope(cadre_id=c["c1"].id))["total"] == 4
    assert figures(Scope(cadre_id=c["c2"].id))["total"] == 3
    assert figures(Scope(cadre_id=c["c2"].id))["resolved"] == 1
    assert figures(Scope(cadre_id=c["c1"].id))["coverage"] == 0.5
    # A department: problems dispatched to it now or before (d1 had problem 2 before it was returned).
    assert figures(Scope(department_id=d["d1"].id))["total"] == 3
    assert figures(Scope(department_id=d["d2"].id))["total"] == 1
    assert figures(Scope(department_id=d["d1"].id))["visits"] is None
    assert figures(Scope(park_id=p["a"].id))["total"] == 4
    assert figures(Scope(park_id=p["a"].id, chain_id=world.chain.id))["total"] == 2
    assert figures(Scope(park_id=p["b"].id))["visits"] == 1


def test_period_filters_filing_time_and_reads_coverage_at_its_end(world):
    scope = Scope(start=datetime(2019, 6, 1, tzinfo=UTC), end=datetime(2019, 6, 5, tzinfo=UTC))
    # Problems 1, 3, 4, 6 (filed 06-01) and 2 (06-03).
    assert figures(scope)["total"] == 5
    # Coverage as of 06-05: only the visit of 05-22 (e2) lies in the 30 days before.
    assert figures(scope)["coverage"] == 0.25


@pytest.mark.parametrize("dimension", compute.DIMENSIONS)
def test_each_breakdown_row_equals_that_scope_computed_alone(world, dimension):
    groups = compute.compute_breakdown(now=NOW, dimension=dimension)
    assert groups, dimension
    for group in groups:
        if group.key is None:
            continue
        alone = compute.compute_counts(now=NOW, scope=Scope(**{f"{dimension}_id": group.key}))
        assert group.counts == alone, (dimension, group.label)


def test_breakdown_partitions_and_shares(world):
    by_park = {g.key: g.counts.total for g in compute.compute_breakdown(now=NOW, dimension="park")}
    assert by_park[world.parks["a"].id] == 4 and by_park[world.parks["b"].id] == 2 and by_park[None] == 2
    rows = service.breakdown_of("park", Scope(start=datetime(2019, 1, 1, tzinfo=UTC)))["rows"]
    assert sum(r["total"] for r in rows) == 8
    assert next(r for r in rows if r["key"] == world.parks["a"].id)["share"] == 0.5
    assert next(r for r in rows if r["key"] is None)["label"] == "未划分园区"


def test_snapshot_reads_give_the_computed_figures(world):
    service.write_current_snapshot(now=NOW)
    row = service.summary_of(Scope(cadre_id=world.cadres["c2"].id))
    assert {k: v for k, v in row.items() if k != "computed_at"} == figures(Scope(cadre_id=world.cadres["c2"].id))
    assert row["computed_at"] == NOW
    stored = {r["key"]: r for r in service.breakdown_of("department", Scope())["rows"]}
    assert stored[world.departments["d1"].id]["total"] == 3


TREND_CASES = [
    # (UTC time of filing, local day, ISO week's Monday, month)
    (datetime(2019, 3, 1, 15, 30, tzinfo=UTC), "2019-03-01", "2019-02-25", "2019-03-01"),  # 23:30 +08:00
    (datetime(2019, 3, 1, 16, 30, tzinfo=UTC), "2019-03-02", "2019-02-25", "2019-03-01"),  # 00:30 the next day
    (datetime(2019, 3, 3, 16, 30, tzinfo=UTC), "2019-03-04", "2019-03-04", "2019-03-01"),  # Monday 00:30
    (datetime(2019, 3, 31, 16, 30, tzinfo=UTC), "2019-04-01", "2019-04-01", "2019-04-01"),  # April 1st 00:30
]


def test_trend_buckets_in_shanghai_time(app_ctx):
    category = CategoryFactory()
    for created_at, *_buckets in TREND_CASES:
        ProblemFactory(category=category, created_at=created_at)
    for position, interval in enumerate(compute.INTERVALS, start=1):
        expected: dict[str, int] = {}
        for case in TREND_CASES:
            expected[case[position]] = expected.get(case[position], 0) + 1
        points = compute.compute_trend(now=NOW, interval=interval)
        assert {p.bucket: p.counts.total for p in points} == expected, interval


def test_trend_counts_resolutions_in_their_own_bucket(app_ctx):
    resolved_at = datetime(2019, 3, 4, 1, 0, tzinfo=UTC)
    ProblemFactory(created_at=datetime(2019, 3, 1, 3, tzinfo=UTC), status="closed", resolved_at=resolved_at)
    points = {p.bucket: p for p in compute.compute_trend(now=NOW, interval="day")}
    assert points["2019-03-01"].counts.resolved == 1 and points["2019-03-01"].resolved_in_bucket == 0
    assert points["2019-03-04"].resolved_in_bucket == 1 and points["2019-03-04"].counts.total == 0


def test_common_categories_and_themes(app_ctx):
    canteen, roads = CategoryFactory(), CategoryFactory()
    for n in range(4):
        enterprise = EnterpriseFactory()
        ProblemFactory(enterprise=enterprise, category=canteen, title=f"{'二期' if n % 2 else ''}食堂就餐拥挤")
        ProblemFactory(enterprise=enterprise, category=canteen, title="食堂就餐拥挤")
    # One enterprise raising a theme many times is not a common problem.
    lone = EnterpriseFactory()
    for _ in range(5):
        ProblemFactory(enterprise=lone, category=roads, title="周边道路破损")
    items = compute.compute_common(scope=compute.ZONE, min_enterprises=3, themes=5)
    categories = [(i.category_id, i.enterprises, i.problems) for i in items if i.kind == "category"]
    assert categories == [(canteen.id, 4, 8)]
    themes = [(i.term, i.enterprises, i.problems) for i in items if i.kind == "theme"]
    assert themes == [("食堂就餐拥挤", 4, 8)]


def test_select_themes_prefers_phrases():
    rows = [
        ("问题", 9, 9, 0),
        ("就餐", 9, 12, 2),
        ("食堂就", 4, 8, 1),
        ("堂就餐", 4, 8, 1),
        ("就餐拥", 4, 8, 1),
        ("餐拥挤", 4, 8, 1),
        ("食堂", 5, 9, 1),
    ]
    # '食堂' is mostly part of the longer phrase; '就餐' mostly is not; '问题' says nothing.
    assert compute.select_themes(rows, 5) == [("就餐", 9, 12, 2), ("食堂就餐拥挤", 4, 8, 1)]
