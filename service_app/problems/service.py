"""Problems: filing, the actions of the life cycle, ratings, and reading them.

Every public function that changes something is one unit of work: it locks the problem row
(`SELECT … FOR UPDATE`, so two concurrent actions cannot both win; on SQLite the database write
lock serialises them), checks the caller's `If-Match`, lets `workflow.transition` apply the change
and commits once. Reads always start from `scoping.visible_problems(actor)`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import BindParameter, Integer, Row, Select, and_, bindparam, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from service_app.attachments.models import Attachment
from service_app.attachments.service import claim
from service_app.auth.models import Role, User
from service_app.common.pagination import Page, keyset_page, keyset_statement
from service_app.common.search import contains_text
from service_app.common.time import SHANGHAI, utcnow
from service_app.common.transactions import commit, commit_and_keep, execute
from service_app.common.views import RowView
from service_app.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from service_app.extensions import db
from service_app.org.models import CadreLink, Category, Department, Enterprise
from service_app.problems import codes, sla, workflow
from service_app.problems.models import Problem, ProblemEvent, Rating
from service_app.problems.scoping import (
    get_visible_problem,
    page_scope_shape,
    scope_parameters,
    scope_shape,
    visible_problems_of_shape,
)
from service_app.problems.workflow import field_error
from service_app.visits.models import Visit
from service_app.visits.scoping import visible_visits
from service_app.workdays.service import calendar_at, revision_token


@dataclass
class ProblemView(RowView, row="problem"):
    """A problem as GET /problems/{id} shows it: the row plus what is computed for the caller."""

    problem: Problem
    attachments: list[Attachment] = field(default_factory=list)
    rating: Rating | None = None
    allowed_actions: list[str] = field(default_factory=list)
    # The names the problem refers to (`_detail_names`), read in the problem's own statement.
    names: dict[str, str | None] | None = None


@dataclass
class TimelineEntry(RowView, row="event"):
    event: ProblemEvent
    department_name: str | None


def etag(problem: Problem, *, now: datetime | None = None) -> str:
    """Strong validator: id and version, plus `overdue`, which changes with time alone."""
    overdue = sla.is_overdue(problem, now or utcnow())
    return f"{problem.id}-{problem.version}" + ("-overdue" if overdue else "")


# --- reading --------------------------------------------------------------------------------------

# What a list item shows (schemas.ProblemSchema): the problem's own columns, and the names of what it
# refers to as correlated scalar subqueries. PostgreSQL plans those as sub-plans run for the page's
# rows only, instead of searching join orders for six tables: planning that join cost more than
# serving the whole naive page (README, "Performance").
LIST_COLUMNS = (
    Problem.id, Problem.code, Problem.title, Problem.status, Problem.urgent, Problem.category_id,
    Problem.enterprise_id, Problem.cadre_id, Problem.department_id, Problem.handler_id, Problem.supervised,
    Problem.response_due_at, Problem.due_at, Problem.deadline_provisional, Problem.urge_count,
    Problem.reopen_count, Problem.created_at, Problem.updated_at, Problem.version, Problem.source,
)


def _name_of(table, key, label: str, column: str = "name"):
    """`(SELECT table.column FROM table WHERE table.id = key) AS label`."""
    return select(table.c[column]).where(table.c.id == key).scalar_subquery().label(label)


@cache
def _list_names() -> tuple:
    """Built once per process: an alias of `users` builds a proxy of each of its columns."""
    users = User.__table__
    return (
        _name_of(Enterprise.__table__, Problem.enterprise_id, "enterprise_name"),
        _name_of(Category.__table__, Problem.category_id, "category_label"),
        _name_of(Category.__table__, Problem.category_id, "category_label_en", "name_en"),
        _name_of(Department.__table__, Problem.department_id, "department_name"),
        _name_of(users.alias("cadre"), Problem.cadre_id, "cadre_name"),
        _name_of(users.alias("handler"), Problem.handler_id, "handler_name"),
    )


@cache
def _detail_names() -> tuple:
    return (*_list_names(), _name_of(User.__table__.alias("filer"), Problem.filed_by_id, "filed_by_name"))


def list_problems(
    actor: User, *, limit: int | None = None, cursor: str | None = None, now: datetime | None = None, **filters: Any
) -> Page:
    """The caller's problems, newest first, one page at a time (keyset on id), as rows of
    LIST_COLUMNS and the names (schemas.list_items turns them into list items).

    The statement is built once per shape (the caller's scope, which filters are given, cursor or
    not) with the caller, the filters and the moment as bound parameters: building it and
    deriving SQLAlchemy's cache key cost a third of the page's CPU. A title search (`q`, escaped
    as a literal pattern) is built per request.
    """
    now = now or utcnow()
    shape = page_scope_shape(actor)
    if filters.get("q"):
        query = _filtered(visible_problems_of_shape(shape), now=now, **filters)
        query = query.with_only_columns(*LIST_COLUMNS, *_list_names(), maintain_column_froms=False)
        parameters = scope_parameters(actor, shape)
    else:
        bound = {name: filters[name] for name in _LIST_FILTERS if filters.get(name) is not None and filters[name] != []}
        overdue, supervised = filters.get("overdue"), filters.get("supervised")
        given = frozenset(bound)

        def query(after: bool) -> Select:
            return _list_statement(shape, given, overdue, supervised, after)

        parameters = {**scope_parameters(actor, shape), **{f"filter_{name}": bound[name] for name in given}}
        if overdue is not None:
            parameters["now"] = now
    return keyset_page(
        query, columns=[Problem.id], kinds=[int], limit=limit, cursor=cursor, descending=True, session=db.session,
        rows=True, parameters=parameters,
    )


# The filters bound as parameters in a list statement built once (`overdue` and `supervised` are part
# of its shape: PostgreSQL matches their literal forms to partial indexes).
_LIST_FILTERS = {
    "status": bindparam("filter_status", type_=Problem.status.type, expanding=True),
    "category_id": bindparam("filter_category_id", type_=Problem.category_id.type),
    "enterprise_id": bindparam("filter_enterprise_id", type_=Problem.enterprise_id.type),
    "department_id": bindparam("filter_department_id", type_=Problem.department_id.type),
    "updated_since": bindparam("filter_updated_since", type_=Problem.updated_at.type),
}
_NOW = bindparam("now", type_=Problem.due_at.type)


@lru_cache(maxsize=256)
def _list_statement(
    shape: str, given: frozenset[str], overdue: bool | None, supervised: bool | None, after: bool
) -> Select:
    query = _filtered(
        visible_problems_of_shape(shape), now=_NOW, overdue=overdue, supervised=supervised,
        **{name: _LIST_FILTERS[name] for name in given},
    )
    query = query.with_only_columns(*LIST_COLUMNS, *_list_names(), maintain_column_froms=False)
    return keyset_statement(query, columns=[Problem.id], descending=True, after=after)


def _filtered(
    query: Select,
    *,
    now: datetime,
    status: Sequence[str] | None = None,
    category_id: int | None = None,
    enterprise_id: int | None = None,
    department_id: int | None = None,
    overdue: bool | None = None,
    supervised: bool | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
) -> Select:
    """The GET /problems filters (DESIGN §5), on top of the caller's scope."""
    if status is not None and (isinstance(status, BindParameter) or status):
        query = query.where(Problem.status.in_(status))
    for column, value in (
        (Problem.category_id, category_id),
        (Problem.enterprise_id, enterprise_id),
        (Problem.department_id, department_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if overdue is not None:
        clause = sla.overdue_clause(now)
        query = query.where(clause if overdue else ~clause)
    if supervised is not None:
        # `= true`, not `IS TRUE`: PostgreSQL matches only the former to ix_problems_supervised_id.
        query = query.where(Problem.supervised == supervised)
    if updated_since is not None:
        query = query.where(Problem.updated_at >= updated_since)
    if q:
        query = query.where(contains_text(Problem.title, text=q))
    return query


def get_problem(actor: User, problem_id: int, *, now: datetime | None = None) -> ProblemView:
    """One problem with its attachments, latest rating and what the caller may do with it; else 404.

    One statement, built once per shape of caller with bound parameters: the problem with its
    names and latest rating, a row per attachment (one row of NULLs when it has none)."""
    shape = scope_shape(actor)
    names = _detail_names()
    parameters = {**scope_parameters(actor, shape), "problem_id": problem_id}
    rows = db.session.execute(_detail_statement(shape), parameters).all()
    if not rows:
        raise NotFound()
    problem, rating, *values, _ = rows[0]
    attachments = [row[-1] for row in rows if row[-1] is not None]
    actions = workflow.allowed_actions(problem, actor, now=now or utcnow())
    return ProblemView(
        problem,
        attachments=attachments,
        rating=rating,
        allowed_actions=actions,
        names={name.key: value for name, value in zip(names, values, strict=True)},
    )


@cache
def _detail_statement(shape: str) -> Select:
    """The problem visible to callers of `shape`, its latest rating (the highest resolution rated;
    one per resolution) or NULLs, its names, and its attachments in order, one per row (a round
    trip less than reading them apart: a problem has a few)."""
    rated = Rating.__table__.alias("rated")
    latest = select(func.max(rated.c.resolution_no)).where(rated.c.problem_id == Problem.id).scalar_subquery()
    return (
        visible_problems_of_shape(shape)
        .where(Problem.id == bindparam("problem_id", type_=Problem.id.type))
        .add_columns(Rating, *_detail_names(), Attachment)
        .outerjoin_from(Problem, Rating, and_(Rating.problem_id == Problem.id, Rating.resolution_no == latest))
        .outerjoin_from(Problem, Attachment, Attachment.problem_id == Problem.id)
        .order_by(Attachment.id)
    )


def timeline(actor: User, problem_id: int) -> list[TimelineEntry]:
    """The problem's events, oldest first; enterprises never see internal comments."""
    get_visible_problem(actor, problem_id)
    query = (
        select(ProblemEvent, Department.name)
        .outerjoin(Department, Department.id == ProblemEvent.department_id)
        .where(ProblemEvent.problem_id == problem_id)
        .options(joinedload(ProblemEvent.actor).load_only(User.id, User.name, User.role))
        .order_by(ProblemEvent.id)
    )
    if actor.role == Role.ENTERPRISE.value:
        query = query.where(ProblemEvent.internal.is_(False))
    return [TimelineEntry(event, name) for event, name in db.session.execute(query)]


# --- filing ---------------------------------------------------------------------------------------


def file_problem(
    actor: User | None,
    *,
    title: str,
    description: str,
    category_id: int,
    urgent: bool = False,
    enterprise_id: int | None = None,
    attachment_ids: Sequence[int] = (),
    visit_id: int | None = None,
    source: str = "app",
    now: datetime | None = None,
) -> ProblemView:
    """File a problem: an enterprise for itself, or a cadre for a linked enterprise.

    `actor` None is a partner system filing through the Open311 gateway for the enterprise it names
    (`source` says which); the answer is then the bare problem, since no user's scope applies.
    """
    now = now or utcnow()
    enterprise_id = _filing_enterprise(actor, enterprise_id)
    category = _category_and_cadre(actor, category_id, enterprise_id)
    if visit_id is not None:
        _check_visit(actor, visit_id, enterprise_id)
    counted = sla.deadlines(
        calendar=calendar_at(now.astimezone(SHANGHAI).year, category.calendar_revision),
        created_at=now,
        response_days=category.response_days,
        resolve_days=category.resolve_days,
        urgent=urgent,
    )
    problem = Problem(
        code=codes.next_code(now),
        enterprise_id=enterprise_id,
        category_id=category.id,
        title=title,
        description=description,
        urgent=urgent,
        filed_by_id=actor.id if actor is not None else None,
        source=source,
        cadre_id=category.cadre_id,
        visit_id=visit_id,
        supervised=False,
        reopen_count=0,
        created_at=now,
        response_due_at=counted.response_due_at,
        due_at=counted.due_at,
        deadline_provisional=counted.provisional,
    )
    # A cadre filing has just been checked to be linked (`_filing_enterprise`): no second look-up.
    linked = actor is not None and actor.role == Role.CADRE.value
    parties = workflow.relations(problem, actor, linked=linked)
    workflow.transition(problem, "submit", actor=actor, now=now, parties=parties)
    if actor is None:
        commit()
        return ProblemView(problem)
    claimed = claim(owner_id=actor.id, attachment_ids=attachment_ids, problem_id=problem.id)
    # The answer is GET /problems/{id}'s, from what this transaction wrote and read: a new problem has
    # no rating, no department and no handler, its attachments are the ones just claimed
    # (tests/test_problems_api.py compares it with a GET afterwards).
    view = ProblemView(
        problem,
        attachments=sorted(claimed, key=lambda attachment: attachment.id),
        allowed_actions=workflow.allowed_actions(problem, actor, now=now, parties=parties),
        names={
            "enterprise_name": category.enterprise_name,
            "category_label": category.name,
            "category_label_en": category.name_en,
            "department_name": None,
            "cadre_name": category.cadre_name,
            "handler_name": None,
            "filed_by_name": actor.name,
        },
    )
    if problem.department_id is not None or problem.handler_id is not None:  # not so at filing today
        commit()
        return get_problem(actor, problem.id, now=now)
    commit_and_keep()
    return view


def _filing_enterprise(actor: User | None, enterprise_id: int | None) -> int:
    """The enterprise a filing is for, as far as the request tells; that it exists and, for a cadre,
    is linked to it are read with the category (`_category_and_cadre`)."""
    if actor is None:  # a partner system names the enterprise (the gateway resolved its credit code)
        if enterprise_id is None:
            raise _no_such_enterprise()
        return enterprise_id
    if actor.role == Role.ENTERPRISE.value:
        if enterprise_id not in (None, actor.enterprise_id):
            raise field_error(
                "enterprise_id", "企业只能反映本企业的问题", "An enterprise files problems for itself only"
            )
        return actor.enterprise_id
    if actor.role != Role.CADRE.value:
        raise Forbidden()
    if enterprise_id is None:
        raise field_error("enterprise_id", "代企业反映问题时必填", "Required when a cadre files for an enterprise")
    return enterprise_id


def _no_such_enterprise() -> ValidationFailed:
    return field_error("enterprise_id", "企业不存在", "No such enterprise")


def _not_linked() -> ValidationFailed:
    return field_error("enterprise_id", "不是您结对联系的企业", "Not an enterprise linked to you")


def _check_visit(actor: User, visit_id: int, enterprise_id: int) -> None:
    visit = db.session.scalar(visible_visits(actor).where(Visit.id == visit_id))
    if visit is None or visit.enterprise_id != enterprise_id:
        raise field_error("visit_id", "不是您对该企业的走访", "Not your visit to this enterprise")


@cache
def _filing_read() -> Select:
    """Built once per process with bound parameters (`category_id`, `enterprise_id`, `cadre_id`):
    SQLAlchemy keeps the statement's cache key, which it would otherwise derive again, node by node,
    at every filing."""
    enterprise_id = bindparam("enterprise_id", type_=Integer())
    cadre = (
        select(CadreLink.cadre_id)
        .join(User, User.id == CadreLink.cadre_id)
        .where(CadreLink.enterprise_id == enterprise_id, CadreLink.ended_at.is_(None), User.is_active.is_(True))
        .order_by(case((CadreLink.role == "primary", 0), else_=1), CadreLink.started_on.desc(), CadreLink.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    linked = (
        select(CadreLink.id)
        .where(
            CadreLink.cadre_id == bindparam("cadre_id", type_=Integer()),
            CadreLink.enterprise_id == Enterprise.id,
            CadreLink.ended_at.is_(None),
        )
        .exists()
    )
    return (
        select(
            Category.id, Category.name, Category.name_en, Category.response_days, Category.resolve_days,
            Enterprise.name.label("enterprise_name"), linked.label("linked"),
            User.id.label("cadre_id"), User.name.label("cadre_name"), revision_token().label("calendar_revision"),
        )
        .select_from(Enterprise)
        .outerjoin(
            Category,
            and_(Category.id == bindparam("category_id", type_=Integer()), Category.is_active.is_(True)),
        )
        .outerjoin(User, User.id == cadre)
        .where(Enterprise.id == enterprise_id)
    )


def _category_and_cadre(actor: User | None, category_id: int, enterprise_id: int) -> Row:
    """What filing reads, in one statement: the enterprise (else 422) with its name and, for a cadre
    filing, whether it is linked to the cadre (else 422), the active category (else 422) with its
    deadlines and names, the enterprise's responsible cadre's id and name (the primary active linked
    cadre, a leader when it has no primary one), and the calendar's revision token (`calendar_at`)."""
    cadre_id = actor.id if actor is not None and actor.role == Role.CADRE.value else None
    parameters = {"category_id": category_id, "enterprise_id": enterprise_id, "cadre_id": cadre_id}
    row = execute(_filing_read(), parameters).first()
    if cadre_id is not None and (row is None or not row.linked):
        raise _not_linked()
    if row is None:
        raise _no_such_enterprise()
    if row.id is None:
        raise field_error("category_id", "问题类别不存在", "No such category")
    return row


# --- actions --------------------------------------------------------------------------------------


def perform(
    actor: User,
    problem_id: int,
    action: str,
    *,
    if_match: Collection[str] | None = None,
    now: datetime | None = None,
    **data: Any,
) -> ProblemView:
    """Do one workflow action that has its own endpoint (`workflow.ROUTED`: accept, reject, dispatch…).

    `data` is that endpoint's body, checked by the action's `prepare`."""
    spec = workflow.ACTIONS.get(action)
    if spec is None or spec.prepare is None:
        raise NotFound()
    now = now or utcnow()
    problem = _lock_for(actor, problem_id, action, if_match=if_match, now=now)
    params = spec.prepare(actor, problem, now, **data)
    workflow.transition(problem, action, actor=actor, now=now, params=params)
    claim(owner_id=actor.id, attachment_ids=params.attachment_ids, problem_id=problem_id)
    db.session.commit()
    return get_problem(actor, problem_id, now=now)


def _lock_for(actor: User, problem_id: int, action: str, *, if_match: Collection[str] | None, now: datetime) -> Problem:
    """403 for the wrong role, 404 when invisible, 412 when stale, 409/403 when not allowed now."""
    workflow.ensure_role(actor, action)
    problem = get_visible_problem(actor, problem_id, for_update=True)
    if if_match is not None and etag(problem, now=now) not in if_match:
        raise PreconditionFailed(extra={"current_version": problem.version})
    workflow.check(problem, action, actor, now=now)
    return problem


# --- ratings --------------------------------------------------------------------------------------


def rate(
    actor: User,
    problem_id: int,
    *,
    score: int,
    comment: str | None = None,
    if_match: Collection[str] | None = None,
    now: datetime | None = None,
) -> ProblemView:
    """The filing enterprise rates the current resolution: ≥3 closes the problem, ≤2 reopens it."""
    now = now or utcnow()
    problem = _lock_for(actor, problem_id, "rate", if_match=if_match, now=now)
    _add_rating(problem, actor, score=score, comment=comment, now=now)
    for action, params in workflow.rating_steps(score, comment):
        workflow.transition(problem, action, actor=actor, now=now, params=params)
    commit()
    return get_problem(actor, problem_id, now=now)


def _already_rated() -> Conflict:
    return Conflict("already_rated", zh="本次办理结果已评价过", en="This resolution has already been rated")


def _add_rating(problem: Problem, actor: User, *, score: int, comment: str | None, now: datetime) -> Rating:
    resolution_no = problem.reopen_count
    taken = select(Rating.id).where(Rating.problem_id == problem.id, Rating.resolution_no == resolution_no)
    if db.session.scalar(taken) is not None:
        raise _already_rated()
    rating = Rating(
        problem_id=problem.id,
        enterprise_id=problem.enterprise_id,
        rated_by_id=actor.id,
        resolution_no=resolution_no,
        score=score,
        comment=comment,
        created_at=now,
    )
    try:
        # The unique constraint is the last word; a savepoint keeps the rest of the transaction usable.
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        raise _already_rated() from None
    return rating
