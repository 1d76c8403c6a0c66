"""Visits (走访): check-in and check-out, and reading them. Each change is one transaction.

A cadre is in one place at a time, so a cadre has at most one open visit, and it is the one
recorded last. Checking in closes the cadre's earlier open visit at the new check-in's time
(`auto_closed`): people forget to check out, and refusing the new check-in would strand an
offline phone that cannot ask the server what to do. For the same reason a check-in that arrives
late (offline capture) behind a later one is stored closed at that later check-in's time, and one
already older than VISIT_AUTO_CLOSE_HOURS is stored closed at that limit. An automatic close never
lasts longer than the limit, and the cadre's own check-out, if it arrives later and was recorded
before the automatic close, replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Integer, Row, Select, Update, and_, bindparam, case, select, update
from sqlalchemy.orm import joinedload

from service_app.attachments import service as attachments
from service_app.attachments.models import Attachment
from service_app.auth.models import Role, User
from service_app.common.i18n import bilingual
from service_app.common.pagination import Page, decode_cursor, effective_limit, encode_cursor, keyset_page
from service_app.common.time import utcnow
from service_app.common.transactions import commit_and_keep, execute, insert_object
from service_app.common.views import RowView
from service_app.errors import Conflict, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.org import scoping as org_scoping
from service_app.org.models import CadreLink, Enterprise
from service_app.visits import coverage, geo
from service_app.visits.models import PENDING_REVIEW, REVIEW_DECISIONS, Visit
from service_app.visits.schemas import visit_document
from service_app.visits.scoping import get_visible_visit, visible_visits


@dataclass
class VisitDetail(RowView, row="visit"):
    """A visit with the ids of its photos and of the problems raised during it."""

    visit: Visit
    photo_ids: list[int]
    problem_ids: list[int]


def init_app(app: Flask, *, problems_raised: Callable[[int], Sequence[int]]) -> None:
    """Keep the query of the problems raised during a visit (visit id -> problem ids, in order).

    Problems sit above visits in the layers (a problem names the visit it was raised in), so
    `create_app` hands the query in and this package never imports problems.
    """
    app.extensions["visit_problems_raised"] = problems_raised


# --- rules -------------------------------------------------------------------------------------


def auto_close_limit() -> timedelta:
    return timedelta(hours=current_app.config["VISIT_AUTO_CLOSE_HOURS"])


def _flag_rules() -> geo.FlagRules:
    config = current_app.config
    return geo.FlagRules(
        geofence_radius_m=config["GEOFENCE_RADIUS_M"],
        poor_accuracy_m=config["VISIT_POOR_ACCURACY_M"],
        max_speed_mps=config["VISIT_MAX_SPEED_KMH"] / 3.6,
    )


def _capture_time(value: datetime | None, *, now: datetime) -> datetime:
    """The phone's capture time: `now` when absent; at most VISIT_OFFLINE_MAX_HOURS old, and
    no later than now plus VISIT_CLOCK_SKEW_SECONDS (phone clocks run a little fast)."""
    if value is None:
        return now
    hours = current_app.config["VISIT_OFFLINE_MAX_HOURS"]
    skew = current_app.config["VISIT_CLOCK_SKEW_SECONDS"]
    if value < now - timedelta(hours=hours):
        raise ValidationFailed(
            errors={
                "recorded_at": [bilingual(f"离线记录最多保留 {hours} 小时", f"Must be within the last {hours} hours")]
            }
        )
    if value > now + timedelta(seconds=skew):
        raise ValidationFailed(errors={"recorded_at": [bilingual("不能晚于当前时间", "Must not be in the future")]})
    return value


def auto_close(visit: Visit, *, at: datetime, limit: timedelta) -> None:
    """Close `visit` for the cadre at `at`, never later than check-in time plus `limit`."""
    closed_at = min(at, visit.recorded_at + limit)
    visit.checked_out_at = closed_at
    visit.duration_s = int((closed_at - visit.recorded_at).total_seconds())
    visit.auto_closed = True


# --- check-in ----------------------------------------------------------------------------------


def check_in(
    *,
    cadre: User,
    enterprise_id: int,
    lat: float,
    lng: float,
    accuracy_m: float,
    recorded_at: datetime | None = None,
    note: str | None = None,
    photo_ids: Sequence[int] = (),
    mock_location: bool = False,
    client_id: str | None = None,
    now: datetime | None = None,
) -> tuple[VisitDetail, bool]:
    """Record a check-in at an enterprise linked to `cadre`: (the visit, whether it is new).

    A `client_id` this cadre already used returns that visit, however late it is sent again.

    The round trips: the cadre's lock with the linked enterprise; the visits around the check-in
    (with the client_id's visit); the INSERT … RETURNING of the new one; the earlier open visit's
    close when there is one; the photos when there are some; the commit.
    """
    now = now or utcnow()
    linked = _lock_cadre_and_read_enterprise(cadre.id, enterprise_id)
    around = _around(cadre.id, recorded_at or now, client_id)
    if around.existing is not None:
        return _replayed(around.existing, enterprise_id), False
    recorded_at = _capture_time(recorded_at, now=now)
    if linked is None:  # not actively linked to the cadre: 404, as if it did not exist
        raise NotFound()
    enterprise = linked
    visit = Visit(
        client_id=client_id,
        cadre_id=cadre.id,
        enterprise_id=enterprise_id,
        recorded_at=recorded_at,
        received_at=now,
        lat=lat,
        lng=lng,
        accuracy_m=accuracy_m,
        mock_location=mock_location,
        note=note,
        checked_out_at=None,
        duration_s=None,
        auto_closed=False,
        # Loaded already: the answer names them without another read.
        cadre=cadre,
        enterprise=enterprise,
    )
    _assess(visit, enterprise=enterprise, previous=around.previous)
    _close_if_overtaken(visit, following=around.following, now=now)
    # The row as written, its id included; a client_id the cadre already used inserts nothing (no
    # savepoint, no IntegrityError to recover from).
    if not insert_object(visit, unique=("cadre_id", "client_id")):
        # Another request with this client_id committed between our look-up and our insert.
        existing = _visit_by_client_id(cadre.id, client_id)
        if existing is None:  # taken and gone again (deleted): nothing to replay
            raise Conflict()
        return _replayed(existing, enterprise_id), False
    _close_earlier_open_visit(visit, around.previous)
    photos = attachments.claim(owner_id=cadre.id, attachment_ids=photo_ids, visit_id=visit.id, field="photo_ids")
    # GET /visits/{id}'s answer from what this transaction wrote: no problem can name a visit that did
    # not exist before it (tests/test_visits_routes.py compares it with a GET afterwards).
    detail = VisitDetail(visit=visit, photo_ids=sorted(photo.id for photo in photos), problem_ids=[])
    commit_and_keep()
    return detail, True


@cache
def _lock_and_link() -> Select:
    """Built once per process with bound parameters (`cadre_id`, `enterprise_id`), so SQLAlchemy keeps
    its cache key instead of deriving it at every check-in. Core columns, no ORM entity: what the
    check-in uses of the enterprise is its name (the answer) and its location (the geofence)."""
    cadre_id, enterprise_id = bindparam("cadre_id", type_=Integer()), bindparam("enterprise_id", type_=Integer())
    linked = org_scoping.linked_enterprise_ids(cadre_id).where(CadreLink.enterprise_id == enterprise_id)
    users, enterprises = User.__table__, Enterprise.__table__
    return (
        select(
            users.c.id, enterprises.c.id.label("enterprise_id"), enterprises.c.name, enterprises.c.lat,
            enterprises.c.lng,
        )
        .select_from(users)
        .outerjoin(enterprises, and_(enterprises.c.id == enterprise_id, linked.exists()))
        .where(users.c.id == cadre_id)
        .with_for_update(of=users)
    )


def _lock_cadre_and_read_enterprise(cadre_id: int, enterprise_id: int) -> Enterprise | None:
    """Lock the cadre's row, serialising one cadre's check-ins so two at once cannot both stay open
    (PostgreSQL), and read the enterprise if it is actively linked to the cadre, in one statement
    (the enterprise as an object outside the session, with the columns the check-in uses).

    What the check-in reads of the cadre's visits comes in the next statement: on PostgreSQL a
    statement that waited for the lock still sees the database as it was when it started, without
    the check-in it waited for."""
    row = execute(_lock_and_link(), {"cadre_id": cadre_id, "enterprise_id": enterprise_id}).one()
    if row.enterprise_id is None:
        return None
    return Enterprise(id=row.enterprise_id, name=row.name, lat=row.lat, lng=row.lng)


def _visit_by_client_id(cadre_id: int, client_id: str) -> Visit | None:
    return db.session.scalar(select(Visit).where(Visit.cadre_id == cadre_id, Visit.client_id == client_id))


def _replayed(visit: Visit | Row, enterprise_id: int) -> VisitDetail:
    if visit.enterprise_id != enterprise_id:
        raise ValidationFailed(
            errors={
                "client_id": [bilingual("已用于另一家企业的签到", "Already used for a check-in at another enterprise")]
            }
        )
    return _detail(select(Visit).where(Visit.id == visit.id))


@dataclass
class Around:
    """The cadre's check-ins recorded just before (or at) and just after a moment, and the one a
    client_id names (columns only: what `_assess`, the closes and a replay use)."""

    previous: Row | None = None
    following: Row | None = None
    existing: Row | None = None


# The columns of a neighbouring visit the check-in uses.
_AROUND_COLUMNS = (
    Visit.id, Visit.enterprise_id, Visit.lat, Visit.lng, Visit.accuracy_m, Visit.recorded_at, Visit.checked_out_at,
)


@cache
def _around_statement(with_client_id: bool) -> Select:
    """One statement, built once per shape: each visit found by its own ordered look-up (an index
    range on (cadre_id, recorded_at, id)), all three read by id, labelled with which they are."""
    cadre_id = bindparam("cadre_id", type_=Integer())
    at = bindparam("recorded_at", type_=Visit.recorded_at.type)
    mine = select(Visit.id).where(Visit.cadre_id == cadre_id)
    found = {}
    if with_client_id:  # first: the visit a client_id names is the replay, even when it is a neighbour too
        found["existing"] = mine.where(Visit.client_id == bindparam("client_id", type_=Visit.client_id.type))
    found |= {
        "previous": mine.where(Visit.recorded_at <= at).order_by(Visit.recorded_at.desc(), Visit.id.desc()).limit(1),
        "following": mine.where(Visit.recorded_at > at).order_by(Visit.recorded_at, Visit.id).limit(1),
    }
    ids = {name: query.correlate(None).scalar_subquery() for name, query in found.items()}
    which = case(*((Visit.id == subquery, name) for name, subquery in ids.items())).label("which")
    return select(*_AROUND_COLUMNS, which).where(Visit.id.in_(list(ids.values())))


def _around(cadre_id: int, recorded_at: datetime, client_id: str | None) -> Around:
    parameters = {"cadre_id": cadre_id, "recorded_at": recorded_at}
    if client_id is not None:
        parameters["client_id"] = client_id
    found = Around()
    for row in execute(_around_statement(client_id is not None), parameters):
        setattr(found, row.which, row)
    return found


def _assess(visit: Visit, *, enterprise: Enterprise, previous: Visit | None) -> None:
    """Distance to the enterprise, geofence and flags (an enterprise with no location: not judged)."""
    rules = _flag_rules()
    if enterprise.lat is not None and enterprise.lng is not None:
        visit.distance_m = geo.distance_m(visit.lat, visit.lng, enterprise.lat, enterprise.lng)
    visit.within_geofence = geo.within_geofence(visit.distance_m, rules.geofence_radius_m)
    before = (
        None if previous is None else geo.Fix(previous.lat, previous.lng, previous.recorded_at, previous.accuracy_m)
    )
    visit.flags = geo.flags(
        distance=visit.distance_m,
        accuracy_m=visit.accuracy_m,
        mock_location=visit.mock_location,
        current=geo.Fix(visit.lat, visit.lng, visit.recorded_at, visit.accuracy_m),
        previous=before,
        rules=rules,
    )
    visit.flagged = bool(visit.flags)


@cache
def _close_statement() -> Update:
    table = Visit.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("visit_id", type_=Integer()), table.c.checked_out_at.is_(None))
        .values(
            checked_out_at=bindparam("closed_at", type_=table.c.checked_out_at.type),
            duration_s=bindparam("duration", type_=Integer()),
            auto_closed=True,
        )
    )


def _close_earlier_open_visit(visit: Visit, previous: Row | None) -> None:
    """Close the cadre's open visit recorded before this one, in one UPDATE. It can only be the
    previous check-in: a cadre has at most one open visit, the one recorded last. The UPDATE re-checks
    that it is still open, so a check-out committed meanwhile is kept."""
    if previous is None or previous.checked_out_at is not None:
        return
    closed_at = min(visit.recorded_at, previous.recorded_at + auto_close_limit())
    duration = int((closed_at - previous.recorded_at).total_seconds())
    execute(_close_statement(), {"visit_id": previous.id, "closed_at": closed_at, "duration": duration})


def _close_if_overtaken(visit: Visit, *, following: Visit | None, now: datetime) -> None:
    """A late (offline) check-in is already over if the cadre checked in later or the limit passed."""
    limit = auto_close_limit()
    if following is not None:
        auto_close(visit, at=following.recorded_at, limit=limit)
    elif visit.recorded_at + limit <= now:
        auto_close(visit, at=visit.recorded_at + limit, limit=limit)


# --- check-out ---------------------------------------------------------------------------------


def check_out(
    *,
    cadre: User,
    visit_id: int,
    lat: float,
    lng: float,
    summary: str,
    recorded_at: datetime | None = None,
    now: datetime | None = None,
) -> VisitDetail:
    """Close the cadre's own visit with its position and summary; the duration is computed."""
    now = now or utcnow()
    visit = get_visible_visit(cadre, visit_id, for_update=True)
    if visit.checked_out_at is not None and not visit.auto_closed:
        raise _already_checked_out(visit)
    at = _check_out_time(visit, recorded_at=recorded_at, now=now)
    if visit.checked_out_at is not None and at > visit.checked_out_at:
        # Only a check-out recorded before the automatic close may correct it.
        raise _already_checked_out(visit)
    visit.checked_out_at, visit.check_out_lat, visit.check_out_lng = at, lat, lng
    visit.summary = summary
    visit.duration_s = int((at - visit.recorded_at).total_seconds())
    visit.auto_closed = False
    db.session.commit()
    return _detail(visible_visits(cadre).where(Visit.id == visit_id))


def _check_out_time(visit: Visit, *, recorded_at: datetime | None, now: datetime) -> datetime:
    if recorded_at is None:
        # Server time against a phone clock that may run ahead (within the skew): never negative.
        return max(now, visit.recorded_at)
    at = _capture_time(recorded_at, now=now)
    if at < visit.recorded_at:
        raise ValidationFailed(
            errors={"recorded_at": [bilingual("签退时间不能早于签到时间", "Must not be before the check-in time")]}
        )
    return at


def _already_checked_out(visit: Visit) -> Conflict:
    """409 carrying the visit as it stands, so an app retrying an offline check-out can reconcile."""
    current = visit_document(_detail(select(Visit).where(Visit.id == visit.id)))
    return Conflict(
        "visit_checked_out", zh="该走访已签退", en="This visit is already checked out", extra={"visit": current}
    )


# --- review ------------------------------------------------------------------------------------


def review_visit(
    *, actor: User, visit_id: int, decision: str, note: str | None = None, now: datetime | None = None
) -> VisitDetail:
    """A manager confirms a flagged check-in (it counts as a visit) or dismisses it (it does not).

    Only flagged check-ins wait for review, and each is reviewed once: 409 otherwise.
    """
    visit = get_visible_visit(actor, visit_id, for_update=True)
    if not visit.flagged:
        raise Conflict(
            "visit_not_flagged",
            zh="该签到未被标记，无需审核",
            en="This check-in is not flagged; there is nothing to review",
        )
    if visit.review is not None:
        raise Conflict(
            "visit_already_reviewed",
            zh="该签到已审核",
            en="This check-in has already been reviewed",
            extra={"review": visit.review, "reviewed_at": visit.reviewed_at.isoformat()},
        )
    visit.review = REVIEW_DECISIONS[decision]
    visit.reviewed_at = now or utcnow()
    visit.reviewed_by_id = actor.id
    visit.review_note = note
    db.session.commit()
    return _detail(select(Visit).where(Visit.id == visit_id))


# --- reading -----------------------------------------------------------------------------------


def _with_names(query: Select) -> Select:
    """Enterprise and cadre names in the same statement (no query per row)."""
    return query.options(
        joinedload(Visit.enterprise).load_only(Enterprise.id, Enterprise.name),
        joinedload(Visit.cadre).load_only(User.id, User.name),
    )


def _detail(query: Select) -> VisitDetail:
    visit = db.session.scalar(_with_names(query))
    if visit is None:
        raise NotFound()
    photo_ids = db.session.scalars(
        select(Attachment.id).where(Attachment.visit_id == visit.id).order_by(Attachment.id)
    ).all()
    problem_ids = current_app.extensions["visit_problems_raised"](visit.id)
    return VisitDetail(visit=visit, photo_ids=list(photo_ids), problem_ids=list(problem_ids))


def get_visit(*, actor: User, visit_id: int) -> VisitDetail:
    """One visit the actor may see (404 otherwise), with its photos and problems raised."""
    return _detail(visible_visits(actor).where(Visit.id == visit_id))


def list_visits(*, actor: User, limit: int | None = None, cursor: str | None = None, **filters: Any) -> Page:
    """Visits the actor may see, most recently recorded first. `open=True` is the live view."""
    query = visible_visits(actor).where(*_filters(**filters))
    return keyset_page(
        _with_names(query),
        columns=[Visit.recorded_at, Visit.id],
        kinds=[datetime, int],
        limit=limit,
        cursor=cursor,
        descending=True,
        session=db.session,
    )


def _filters(
    *,
    cadre_id: int | None = None,
    enterprise_id: int | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    flagged: bool | None = None,
    open: bool | None = None,
    updated_since: datetime | None = None,
    review: str | None = None,
) -> list:
    """WHERE conditions of the list filters; `from`/`to` bound recorded_at (the visit's own time)."""
    conditions = []
    if cadre_id is not None:
        conditions.append(Visit.cadre_id == cadre_id)
    if enterprise_id is not None:
        conditions.append(Visit.enterprise_id == enterprise_id)
    if from_ is not None:
        conditions.append(Visit.recorded_at >= from_)
    if to is not None:
        conditions.append(Visit.recorded_at < to)
    if flagged is not None:
        conditions.append(Visit.flagged == flagged)
    if open is not None:
        conditions.append(Visit.checked_out_at.is_(None) if open else Visit.checked_out_at.is_not(None))
    if updated_since is not None:
        conditions.append(Visit.updated_at > updated_since)
    if review == "pending":
        conditions.append(PENDING_REVIEW)
    elif review is not None:
        conditions.append(Visit.review == review)
    return conditions


# --- coverage ----------------------------------------------------------------------------------


def coverage_report(
    *, actor: User, days: int, limit: int | None = None, cursor: str | None = None, now: datetime | None = None
) -> dict:
    """Coverage over the last `days`: overall and per cadre (lowest first); a cadre sees its own."""
    as_of = now or utcnow()
    if actor.role == Role.CADRE.value:
        own = coverage.overall(as_of=as_of, days=days, cadre_id=actor.id)
        items = [_cadre_row(actor.id, actor.name, own)] if own.linked else []
        return {"as_of": as_of, "days": days, "overall": own, "items": items, "next_cursor": None}
    rows = sorted(coverage.by_cadre(as_of=as_of, days=days).items(), key=lambda row: _coverage_key(*row))
    if cursor:
        after = tuple(decode_cursor(cursor, [float, int]))
        rows = [row for row in rows if _coverage_key(*row) > after]
    size = effective_limit(limit)
    page, more = rows[:size], len(rows) > size
    names = dict(
        db.session.execute(select(User.id, User.name).where(User.id.in_([cadre_id for cadre_id, _ in page]))).all()
    )
    return {
        "as_of": as_of,
        "days": days,
        "overall": coverage.overall(as_of=as_of, days=days),
        "items": [_cadre_row(cadre_id, names.get(cadre_id), figures) for cadre_id, figures in page],
        "next_cursor": encode_cursor(list(_coverage_key(*page[-1]))) if more else None,
    }


def _coverage_key(cadre_id: int, figures: coverage.Coverage) -> tuple[float, int]:
    return (figures.rate if figures.rate is not None else 0.0, cadre_id)


def _cadre_row(cadre_id: int, name: str | None, figures: coverage.Coverage) -> dict:
    return {
        "cadre_id": cadre_id,
        "cadre_name": name,
        "linked": figures.linked,
        "visited": figures.visited,
        "rate": figures.rate,
    }
