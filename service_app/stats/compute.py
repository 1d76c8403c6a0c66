"""Statistics as SQL aggregations (DESIGN.md §4): pure queries, no per-row Python loops.

Every figure is derived from a handful of counts, each one `SUM(CASE WHEN … THEN 1 ELSE 0 END)` over
the problems in scope, so the database does the work and the Python side holds one row per group
(per cadre at most), whatever the number of problems. The definitions, for the problems in scope
(filed in the period when `start`/`end` are given; statuses as they are at `now`):

- total: every problem filed, rejected ones included; withdrawn ones count in no figure.
- resolved: status `resolved` or `closed`. A reopened problem is not resolved until it is resolved again.
- resolution_rate (解决率) = resolved / total.
- response_rate (响应率) = problems whose first cadre action (accept, reject or resolve:
  `first_response_at`) came by `response_due_at` / problems answered or past `response_due_at` at `now`.
  A problem still waiting within its response deadline is in neither count.
- open: problems not finished (submitted, accepted, dispatched, in_progress or awaiting_info);
  in_progress: status in_progress only; awaiting_info: waiting for the enterprise (the clock stops).
- overdue: open problems with the clock running past `due_at` at `now` (`sla.overdue_clause`).
- supervised: open problems a manager (or the overdue job) has put under supervision (督办中).
- urge_count: how many times the enterprises urged (催办).
- on_time_rate = resolved problems with `resolved_at <= due_at` / resolved.
- satisfaction_rate = problems whose latest rating (highest `resolution_no`) scored >= 3 / problems
  with a rating. Earlier ratings of a reopened problem do not count.
- avg_resolution_hours: mean of `resolved_at - created_at` over resolved problems, in hours.
- visits: check-ins in scope (recorded in the period); None for departments and categories.
- coverage: `visits.coverage.overall` — linked enterprises visited by their cadre within 30 days
  before `as_of` / linked enterprises, with `as_of` = the period's end when it is in the past, else
  `now`. None for departments and categories.

Scopes follow the visibility rules of DESIGN.md §4 (`problems.scoping`), so a cadre's or a
department's own figures are exactly the problems it can list: a cadre's are its actively linked
enterprises' problems and those it handles; a department's are those dispatched to it, now or in the
past. Park, chain and category scopes partition the problems; cadre and department scopes may
overlap (an enterprise with two linked cadres, a problem returned and dispatched elsewhere), so their
breakdown shares need not add up to 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, distinct, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from service_app.auth.models import Role, User
from service_app.extensions import db
from service_app.org.models import Category, Chain, Department, Enterprise, Park
from service_app.problems.models import COUNTED, OPEN_STATUSES, RESOLVED_STATUSES, Problem, Rating
from service_app.problems.scoping import cadre_pairs, cadre_scope, dispatch_pairs, dispatched_to
from service_app.problems.sla import overdue_clause
from service_app.problems.workflow import SATISFIED_SCORE
from service_app.stats.sql import BUCKETS, codepoint, seconds_between
from service_app.visits import coverage
from service_app.visits.models import Visit

DIMENSIONS = ("category", "department", "park", "chain", "cadre")
INTERVALS = tuple(BUCKETS)
COUNT_FIELDS = (
    "total",
    "resolved",
    "rejected",
    "open",
    "in_progress",
    "awaiting_info",
    "urge_count",
    "overdue",
    "supervised",
    "response_counted",
    "responded_on_time",
    "resolved_on_time",
    "rated",
    "satisfied",
    "resolution_seconds",
)
# Key of the zone row, and of the group of problems whose enterprise has no park or chain.
NO_KEY = 0
NONE_LABELS = {"park": "未划分园区", "chain": "未划分产业链", "department": "未派单", "cadre": "无联企干部"}
ZONE_LABEL = "全区"


@dataclass(frozen=True)
class Scope:
    """Which problems to count: every filter given narrows the set; `end` is exclusive."""

    park_id: int | None = None
    chain_id: int | None = None
    category_id: int | None = None
    department_id: int | None = None
    cadre_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def has_period(self) -> bool:
        return self.start is not None or self.end is not None

    def filters(self) -> dict[str, int]:
        """The dimension filters set, e.g. {'park': 3}."""
        names = ("park", "chain", "category", "department", "cadre")
        return {name: getattr(self, f"{name}_id") for name in names if getattr(self, f"{name}_id") is not None}

    def period_only(self) -> Scope:
        return Scope(start=self.start, end=self.end)


ZONE = Scope()


@dataclass(frozen=True)
class Counts:
    """The counts the figures are derived from; a snapshot row has the same attributes."""

    total: int = 0
    resolved: int = 0
    rejected: int = 0
    open: int = 0
    in_progress: int = 0
    awaiting_info: int = 0
    urge_count: int = 0
    overdue: int = 0
    supervised: int = 0
    response_counted: int = 0
    responded_on_time: int = 0
    resolved_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    resolution_seconds: float = 0.0
    visits: int | None = None
    coverage_linked: int | None = None
    coverage_visited: int | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any] | None, *, visits: int | None, cover: coverage.Coverage | None) -> Counts:
        values = {name: (row[name] if row is not None else 0) or 0 for name in COUNT_FIELDS}
        values["resolution_seconds"] = float(values["resolution_seconds"])
        return cls(
            **values,
            visits=visits,
            coverage_linked=cover.linked if cover else None,
            coverage_visited=cover.visited if cover else None,
        )

    def as_columns(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Group:
    """One row of a breakdown: a category, department, park, chain or cadre and its counts."""

    key: int | None
    code: str | None
    label: str
    counts: Counts


def _ratio(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def metrics(counts: Any) -> dict[str, Any]:
    """The published figures from counts (a `Counts` or a snapshot row): the one place rates are made."""
    return {
        "total": counts.total,
        "resolved": counts.resolved,
        "resolution_rate": _ratio(counts.resolved, counts.total),
        "response_rate": _ratio(counts.responded_on_time, counts.response_counted),
        "open": counts.open,
        "in_progress": counts.in_progress,
        "awaiting_info": counts.awaiting_info,
        "urge_count": counts.urge_count,
        "overdue": counts.overdue,
        "supervised": counts.supervised,
        "on_time_rate": _ratio(counts.resolved_on_time, counts.resolved),
        "satisfaction_rate": _ratio(counts.satisfied, counts.rated),
        "avg_resolution_hours": round(counts.resolution_seconds / counts.resolved / 3600, 1)
        if counts.resolved
        else None,
        "visits": counts.visits,
        "coverage": _ratio(counts.coverage_visited, counts.coverage_linked),
    }


def share(part: int, whole: int) -> float | None:
    return _ratio(part, whole)


# --- the aggregations ---------------------------------------------------------------------------


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _latest_ratings():
    """(problem_id, score) of each problem's latest rating: no rating of a later resolution exists."""
    later = aliased(Rating)
    return (
        select(Rating.problem_id, Rating.score)
        .where(~exists().where(later.problem_id == Rating.problem_id, later.resolution_no > Rating.resolution_no))
        .subquery("latest_rating")
    )


def _aggregates(now: datetime, latest) -> list:
    resolved = Problem.status.in_(RESOLVED_STATUSES)
    is_open = Problem.status.in_(OPEN_STATUSES)
    answered = Problem.first_response_at.is_not(None)
    duration = seconds_between(Problem.created_at, Problem.resolved_at)
    return [
        func.count(Problem.id).label("total"),
        _count_if(resolved).label("resolved"),
        _count_if(Problem.status == "rejected").label("rejected"),
        _count_if(is_open).label("open"),
        _count_if(Problem.status == "in_progress").label("in_progress"),
        _count_if(Problem.status == "awaiting_info").label("awaiting_info"),
        func.coalesce(func.sum(Problem.urge_count), 0).label("urge_count"),
        _count_if(overdue_clause(now)).label("overdue"),
        _count_if(and_(Problem.supervised, is_open)).label("supervised"),
        _count_if(or_(answered, Problem.response_due_at <= now)).label("response_counted"),
        _count_if(and_(answered, Problem.first_response_at <= Problem.response_due_at)).label("responded_on_time"),
        _count_if(and_(resolved, Problem.resolved_at <= Problem.due_at)).label("resolved_on_time"),
        func.count(latest.c.score).label("rated"),
        _count_if(latest.c.score >= SATISFIED_SCORE).label("satisfied"),
        func.coalesce(
            func.sum(case((and_(resolved, Problem.resolved_at.is_not(None)), duration), else_=0.0)), 0.0
        ).label("resolution_seconds"),
    ]


def _enterprises_of(scope: Scope) -> Select | None:
    """Enterprise ids of the scope's park and/or chain, or None when neither is set."""
    conditions = []
    if scope.park_id is not None:
        conditions.append(Enterprise.park_id == scope.park_id)
    if scope.chain_id is not None:
        conditions.append(Enterprise.chain_id == scope.chain_id)
    return select(Enterprise.id).where(*conditions) if conditions else None


def problem_conditions(scope: Scope, *, period_column=None) -> list:
    """WHERE conditions on Problem for a scope (the period applies to `created_at` by default)."""
    conditions = [COUNTED]  # withdrawn problems count in no statistic
    enterprises = _enterprises_of(scope)
    if enterprises is not None:
        conditions.append(Problem.enterprise_id.in_(enterprises))
    if scope.category_id is not None:
        conditions.append(Problem.category_id == scope.category_id)
    if scope.department_id is not None:
        conditions.append(dispatched_to(scope.department_id))
    if scope.cadre_id is not None:
        conditions.append(cadre_scope(scope.cadre_id))
    column = Problem.created_at if period_column is None else period_column
    if scope.start is not None:
        conditions.append(column >= scope.start)
    if scope.end is not None:
        conditions.append(column < scope.end)
    return conditions


def _members(dimension: str):
    """(key, problem_id) pairs for the overlapping dimensions, the same rules as `problem_conditions`."""
    return (cadre_pairs() if dimension == "cadre" else dispatch_pairs()).subquery("members")


def counts_statement(*, now: datetime, scope: Scope = ZONE, dimension: str | None = None) -> Select:
    """One aggregation over the problems in scope; grouped by `dimension` (column `key`) when given."""
    latest = _latest_ratings()
    aggregates = _aggregates(now, latest)
    if dimension is None:
        query = select(*aggregates).select_from(Problem)
    elif dimension in ("cadre", "department"):
        members = _members(dimension)
        key, problem_id = members.c
        query = (
            select(key.label("key"), *aggregates)
            .select_from(members)
            .join(Problem, Problem.id == problem_id)
            .group_by(key)
        )
    elif dimension == "category":
        query = select(Problem.category_id.label("key"), *aggregates).select_from(Problem).group_by(Problem.category_id)
    else:
        key = func.coalesce(getattr(Enterprise, f"{dimension}_id"), NO_KEY)
        query = (
            select(key.label("key"), *aggregates)
            .select_from(Problem)
            .join(Enterprise, Enterprise.id == Problem.enterprise_id)
            .group_by(key)
        )
    return query.outerjoin(latest, latest.c.problem_id == Problem.id).where(*problem_conditions(scope))


def _visit_conditions(scope: Scope, *, column=None) -> list:
    conditions = []
    enterprises = _enterprises_of(scope)
    if enterprises is not None:
        conditions.append(Visit.enterprise_id.in_(enterprises))
    if scope.cadre_id is not None:
        conditions.append(Visit.cadre_id == scope.cadre_id)
    column = Visit.recorded_at if column is None else column
    if scope.start is not None:
        conditions.append(column >= scope.start)
    if scope.end is not None:
        conditions.append(column < scope.end)
    return conditions


def visits_apply(scope: Scope, dimension: str | None = None) -> bool:
    """Departments and categories make no visits: their visit figures are None, not 0."""
    return scope.department_id is None and scope.category_id is None and dimension not in ("department", "category")


def visits_statement(*, scope: Scope = ZONE, dimension: str | None = None) -> Select:
    """Check-ins in scope, grouped by cadre, park or chain (column `key`) when asked."""
    count = func.count(Visit.id).label("visits")
    if dimension is None:
        query = select(count)
    elif dimension == "cadre":
        query = select(Visit.cadre_id.label("key"), count).group_by(Visit.cadre_id)
    else:
        key = func.coalesce(getattr(Enterprise, f"{dimension}_id"), NO_KEY)
        query = select(key.label("key"), count).join(Enterprise, Enterprise.id == Visit.enterprise_id).group_by(key)
    return query.where(*_visit_conditions(scope))


def coverage_as_of(scope: Scope, now: datetime) -> datetime:
    """Coverage is read at the period's end when that is past, so a 2019 period shows 2019's coverage."""
    return min(scope.end, now) if scope.end is not None else now


def coverage_for(scope: Scope, *, now: datetime) -> coverage.Coverage | None:
    if not visits_apply(scope):
        return None
    return coverage.overall(
        as_of=coverage_as_of(scope, now), enterprise_ids=_enterprises_of(scope), cadre_id=scope.cadre_id
    )


def compute_counts(*, now: datetime, scope: Scope = ZONE) -> Counts:
    """The counts of one scope: three statements (problems, visits, coverage)."""
    row = db.session.execute(counts_statement(now=now, scope=scope)).mappings().one()
    visits = db.session.scalar(visits_statement(scope=scope)) if visits_apply(scope) else None
    return Counts.of(row, visits=visits, cover=coverage_for(scope, now=now))


# --- breakdowns ---------------------------------------------------------------------------------


def _labels(dimension: str) -> dict[int, tuple[str | None, str]]:
    """key -> (code, label) for every category, department, park, chain or cadre."""
    if dimension == "cadre":
        query = select(User.id, User.username, User.name).where(User.role == Role.CADRE.value)
    else:
        model = {"category": Category, "department": Department, "park": Park, "chain": Chain}[dimension]
        query = select(model.id, model.code, model.name)
    return {key: (code, label) for key, code, label in db.session.execute(query)}


def _group_coverage(dimension: str, keys: list[int], scope: Scope, now: datetime) -> dict[int, coverage.Coverage]:
    as_of = coverage_as_of(scope, now)
    if dimension == "cadre":
        return coverage.by_cadre(as_of=as_of)
    column = getattr(Enterprise, f"{dimension}_id")
    # One statement per park or chain: a short reference list, not a number that grows with problems.
    return {
        key: coverage.overall(
            as_of=as_of,
            enterprise_ids=select(Enterprise.id).where(column.is_(None) if key == NO_KEY else column == key),
        )
        for key in keys
    }


def compute_breakdown(*, now: datetime, dimension: str, scope: Scope = ZONE) -> list[Group]:
    """Counts of every category, department, park, chain or cadre (zero rows included)."""
    rows = {
        row["key"]: row
        for row in db.session.execute(counts_statement(now=now, scope=scope, dimension=dimension)).mappings()
    }
    labels = _labels(dimension)
    keys = sorted(set(labels) | set(rows))
    with_visits = visits_apply(scope, dimension)
    visits = dict(db.session.execute(visits_statement(scope=scope, dimension=dimension)).all()) if with_visits else {}
    covers = _group_coverage(dimension, keys, scope, now) if with_visits else {}
    groups = []
    for key in keys:
        code, label = labels.get(key, (None, NONE_LABELS.get(dimension, str(key))))
        counts = Counts.of(
            rows.get(key),
            visits=visits.get(key, 0) if with_visits else None,
            cover=covers.get(key) if with_visits else None,
        )
        groups.append(Group(key=None if key == NO_KEY else key, code=code, label=label, counts=counts))
    return groups


# --- trends -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    bucket: str
    counts: Counts
    resolved_in_bucket: int


def trend_statements(*, now: datetime, interval: str, scope: Scope = ZONE) -> tuple[Select, Select, Select]:
    """Problems filed per bucket (with their counts), resolutions per bucket, check-ins per bucket."""
    bucket_of = BUCKETS[interval]
    latest = _latest_ratings()
    filed_bucket = bucket_of(Problem.created_at)
    filed = (
        select(filed_bucket.label("bucket"), *_aggregates(now, latest))
        .select_from(Problem)
        .outerjoin(latest, latest.c.problem_id == Problem.id)
        .where(*problem_conditions(scope))
        .group_by(filed_bucket)
    )
    resolved_bucket = bucket_of(Problem.resolved_at)
    resolved = (
        select(resolved_bucket.label("bucket"), func.count(Problem.id).label("resolved_in_bucket"))
        .where(
            Problem.status.in_(RESOLVED_STATUSES),
            Problem.resolved_at.is_not(None),
            *problem_conditions(scope, period_column=Problem.resolved_at),
        )
        .group_by(resolved_bucket)
    )
    visit_bucket = bucket_of(Visit.recorded_at)
    visits = (
        select(visit_bucket.label("bucket"), func.count(Visit.id).label("visits"))
        .where(*_visit_conditions(scope))
        .group_by(visit_bucket)
    )
    return filed, resolved, visits


def compute_trend(*, now: datetime, interval: str, scope: Scope = ZONE) -> list[TrendPoint]:
    filed_q, resolved_q, visits_q = trend_statements(now=now, interval=interval, scope=scope)
    filed = {str(row["bucket"]): row for row in db.session.execute(filed_q).mappings()}
    resolved = {str(bucket): count for bucket, count in db.session.execute(resolved_q)}
    visits = {str(bucket): count for bucket, count in db.session.execute(visits_q)} if visits_apply(scope) else {}
    buckets = sorted(set(filed) | set(resolved) | set(visits))
    return [
        TrendPoint(
            bucket=bucket,
            counts=Counts.of(
                filed.get(bucket), visits=visits.get(bucket, 0) if visits_apply(scope) else None, cover=None
            ),
            resolved_in_bucket=resolved.get(bucket, 0),
        )
        for bucket in buckets
    ]


# --- common problems ----------------------------------------------------------------------------

# Words in nearly every title: a theme made only of one of these says nothing.
STOP_TERMS = frozenset(
    {
        "问题",
        "企业",
        "公司",
        "申请",
        "需要",
        "希望",
        "反映",
        "相关",
        "情况",
        "解决",
        "协调",
        "要求",
        "办理",
        "部门",
        "我司",
        "请求",
    }
    | {"尽快", "没有", "存在", "园区", "厂区", "员工", "门口", "影响"}
)
_CJK = (0x4E00, 0x9FFF)
_MAX_TITLE = 120
TERM_LENGTHS = (3, 4)
# Themes read the latest problems of the period only: the work is bounded whatever the table's size,
# and a consultation meeting is about what enterprises raise now.
THEME_SAMPLE = 20000
THEME_MAX_CATEGORIES = 2


@dataclass(frozen=True)
class CommonItem:
    kind: str  # category | theme
    term: str
    label: str
    category_id: int | None
    enterprises: int
    problems: int
    resolved: int


def common_categories_statement(*, scope: Scope, min_enterprises: int) -> Select:
    enterprises = func.count(distinct(Problem.enterprise_id))
    return (
        select(
            Category.id,
            Category.code,
            Category.name,
            enterprises.label("enterprises"),
            func.count(Problem.id).label("problems"),
            _count_if(Problem.status.in_(RESOLVED_STATUSES)).label("resolved"),
        )
        .join(Category, Category.id == Problem.category_id)
        .where(*problem_conditions(scope))
        .group_by(Category.id, Category.code, Category.name)
        .having(enterprises >= min_enterprises)
        .order_by(enterprises.desc(), func.count(Problem.id).desc(), Category.id)
    )


def common_themes_statement(*, scope: Scope, min_enterprises: int, limit: int) -> Select:
    """Terms of 3-4 Chinese characters in titles (Chinese has no spaces to split words on; two
    characters are too ambiguous, e.g. '不足') and how many different enterprises used each, over the
    latest THEME_SAMPLE problems in scope.

    Positions 1..119 (a recursive CTE) times term lengths cut each title into its character n-grams
    inside the database, on SQLite and PostgreSQL alike; only the top `limit` terms come back.
    """
    recent = (
        select(Problem.id, Problem.title, Problem.enterprise_id, Problem.category_id, Problem.status)
        .where(*problem_conditions(scope))
        .order_by(Problem.id.desc())
        .limit(THEME_SAMPLE)
        .subquery("recent")
    )
    positions = select(literal(1).label("i")).cte("positions", recursive=True)
    positions = positions.union_all(select(positions.c.i + 1).where(positions.c.i < _MAX_TITLE - 1))
    lengths = union_all(*(select(literal(n).label("n")) for n in TERM_LENGTHS)).subquery("lengths")
    chinese = [
        or_(lengths.c.n <= k, codepoint(func.substr(recent.c.title, positions.c.i + k, 1)).between(*_CJK))
        for k in range(max(TERM_LENGTHS))
    ]
    grams = (
        select(
            func.substr(recent.c.title, positions.c.i, lengths.c.n).label("term"),
            recent.c.enterprise_id,
            recent.c.category_id,
            recent.c.id.label("problem_id"),
            case((recent.c.status.in_(RESOLVED_STATUSES), recent.c.id)).label("resolved_id"),
        )
        .select_from(recent)
        .join(positions, positions.c.i <= func.length(recent.c.title) - 1)
        .join(lengths, positions.c.i + lengths.c.n - 1 <= func.length(recent.c.title))
        .where(*chinese)
        .subquery("grams")
    )
    enterprises = func.count(distinct(grams.c.enterprise_id))
    problems = func.count(distinct(grams.c.problem_id))
    return (
        select(
            grams.c.term,
            enterprises.label("enterprises"),
            problems.label("problems"),
            func.count(distinct(grams.c.resolved_id)).label("resolved"),
        )
        .group_by(grams.c.term)
        # A theme belongs to a topic: words found across many categories ('二期', '不足') are not themes.
        .having(enterprises >= min_enterprises, func.count(distinct(grams.c.category_id)) <= THEME_MAX_CATEGORIES)
        .order_by(enterprises.desc(), func.length(grams.c.term).desc(), grams.c.term)
        .limit(limit)
    )


def select_themes(rows: list[tuple[str, int, int, int]], limit: int) -> list[tuple[str, int, int, int]]:
    """From the top terms (a bounded list), the phrases people actually wrote.

    A term mostly seen inside a longer one ('食堂' inside '食堂就餐') gives way to it; overlapping
    terms counted over the same problems ('食堂就餐', '堂就餐拥', '就餐拥挤') are one phrase again.
    """
    stats = {term: (e, p, r) for term, e, p, r in rows}
    kept = [
        term
        for term in stats
        if term not in STOP_TERMS
        and not any(
            len(other) > len(term) and term in other and stats[other][0] >= 0.75 * stats[term][0] for other in stats
        )
    ]
    phrases: list[tuple[str, int, int, int]] = []
    used: set[str] = set()
    for term in kept:
        if term in used:
            continue
        used.add(term)
        phrase = term
        grown = True
        while grown and len(phrase) < 32:
            grown = False
            for other in kept:
                if other in used or stats[other] != stats[term]:
                    continue
                overlap = len(other) - 1
                if phrase[-overlap:] == other[:-1]:
                    phrase = phrase + other[-1]
                elif phrase[:overlap] == other[1:]:
                    phrase = other[0] + phrase
                else:
                    continue
                used.add(other)
                grown = True
        phrases.append((phrase, *stats[term]))
    return phrases[:limit]


def compute_common(*, scope: Scope, min_enterprises: int, themes: int) -> list[CommonItem]:
    """Categories, then title themes, raised by at least `min_enterprises` different enterprises."""
    items = [
        CommonItem("category", code, name, category_id, e, p, r)
        for category_id, code, name, e, p, r in db.session.execute(
            common_categories_statement(scope=scope, min_enterprises=min_enterprises)
        )
    ]
    candidates = [
        tuple(row)
        for row in db.session.execute(
            common_themes_statement(scope=scope, min_enterprises=min_enterprises, limit=themes * 15)
        )
    ]
    items += [CommonItem("theme", term, term, None, e, p, r) for term, e, p, r in select_themes(candidates, themes)]
    return items
