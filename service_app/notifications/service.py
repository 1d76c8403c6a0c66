"""Notices to users: written in the caller's transaction (outbox), read in the app, pushed by `delivery`.

`notify` only adds rows; the caller's commit stores them with the change they announce, so a
notice is never sent for a change that was rolled back, nor lost for one that was committed. A
notice is a kind and its parameters; `messages.render` gives its text in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Insert, bindparam, case, func, insert, or_, select, update

from service_app.auth.models import User
from service_app.common.pagination import Page, keyset_page
from service_app.common.time import utcnow
from service_app.common.transactions import execute
from service_app.errors import NotFound
from service_app.extensions import db
from service_app.notifications.messages import KINDS
from service_app.notifications.models import JobWatermark, Notification


@dataclass(frozen=True, eq=False)
class Audience:
    """Recipients as conditions on `users`, with their bound parameters named: each active user that
    meets one of them is told once, in the order of the conditions (by id within one). Keep one
    instance per audience: `notify` builds its statement once per instance."""

    conditions: tuple[ColumnElement[bool], ...]


def notify(
    recipients: Iterable[int] | Audience,
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    problem_id: int | None = None,
    visit_id: int | None = None,
    now: datetime | None = None,
    bound: Mapping[str, Any] | None = None,
    exclude: int | None = None,
) -> int:
    """Queue one notice per recipient in the caller's transaction; commits nothing. Returns how many.

    `recipients` is either user ids (deduplicated, order kept; added to the session, stored at its
    next flush) or an `Audience` (its bound parameters in `bound`): then the notices are one
    `INSERT … SELECT` over the active users it names, deduplicated by construction and written at
    once, without reading the recipients first. `exclude` (the actor) is never told.
    """
    if isinstance(recipients, Audience):
        return execute(
            *notice_rows(
                recipients, kind=kind, params=params, problem_id=problem_id, visit_id=visit_id, now=now,
                bound=bound, exclude=exclude,
            )
        ).rowcount
    _check_kind(kind)
    created_at = now or utcnow()
    count = 0
    for user_id in dict.fromkeys(uid for uid in recipients if uid is not None and uid != exclude):
        db.session.add(
            Notification(
                user_id=user_id, kind=kind, params=dict(params or {}), problem_id=problem_id, visit_id=visit_id,
                created_at=created_at,
            )
        )
        count += 1
    return count


def notice_rows(
    audience: Audience,
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    problem_id: int | None = None,
    visit_id: int | None = None,
    now: datetime | None = None,
    bound: Mapping[str, Any] | None = None,
    exclude: int | None = None,
) -> tuple[Insert, dict[str, Any]]:
    """`notify`'s statement for an `Audience` and its parameters, not run: for a writer that sends it
    as a step of its own (`common.transactions.chain`, where `problem_id` may come from the step
    that inserts the problem)."""
    _check_kind(kind)
    values = {
        **(bound or {}), "kind": kind, "params": dict(params or {}), "problem_id": problem_id,
        "visit_id": visit_id, "created_at": now or utcnow(), "exclude_id": exclude,
    }
    return _insert_for(audience), values


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")


@lru_cache(maxsize=128)
def _insert_for(audience: Audience) -> Insert:
    """`INSERT INTO notifications … SELECT` one row per active user of `audience` but the excluded
    one, built once per audience (the notice table's rows hold theirs for the process)."""
    conditions = audience.conditions
    table = Notification.__table__
    selected = select(
        User.id,
        bindparam("kind", type_=table.c.kind.type),
        bindparam("problem_id", type_=table.c.problem_id.type),
        bindparam("visit_id", type_=table.c.visit_id.type),
        bindparam("params", type_=table.c.params.type),
        bindparam("created_at", type_=table.c.created_at.type),
    ).where(
        User.is_active.is_(True),
        User.id.is_distinct_from(bindparam("exclude_id", type_=User.id.type)),
        or_(*conditions),
    )
    if len(conditions) > 1:
        selected = selected.order_by(case(*((condition, index) for index, condition in enumerate(conditions))))
    selected = selected.order_by(User.id)
    return insert(table).from_select(
        ["user_id", "kind", "problem_id", "visit_id", "params", "created_at"], selected, include_defaults=False
    )


def advance_watermark(job: str, *, now: datetime) -> datetime | None:
    """Where `job` stood after its previous run (None: this is its first run); moves it to `now`.

    Part of the job's own transaction, so the mark moves exactly when the job's notices are stored.
    """
    mark = db.session.get(JobWatermark, job, with_for_update=True)
    if mark is None:
        db.session.add(JobWatermark(job=job, as_of=now))
        return None
    previous = mark.as_of
    mark.as_of = max(previous, now)
    return previous


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def list_for(user_id: int, *, unread: bool | None, limit: int | None, cursor: str | None) -> tuple[Page, int]:
    """A page of the user's own notices, newest first, and how many are unread in all."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread is not None:
        query = query.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    page = keyset_page(
        query, columns=[Notification.id], kinds=[int], limit=limit, cursor=cursor, descending=True, session=db.session
    )
    return page, unread_count(user_id)


def mark_read(user_id: int, notification_id: int, *, now: datetime | None = None) -> tuple[Notification, int]:
    """Mark one of the user's notices read; reading it again keeps the first time. Others' notices: 404."""
    # Conditional update: concurrent reads of one notice cannot overwrite each other's time.
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    notice = db.session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    if notice is None:
        raise NotFound()
    db.session.commit()
    return notice, unread_count(user_id)


def mark_all_read(user_id: int, *, up_to_id: int | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Mark the user's unread notices read (only up to `up_to_id`, the newest one the client showed).

    Returns how many were marked and how many stay unread.
    """
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if up_to_id is not None:
        query = query.where(Notification.id <= up_to_id)
    result = db.session.execute(query.values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0, unread_count(user_id)
