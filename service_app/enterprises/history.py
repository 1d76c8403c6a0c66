"""The change history of enterprises: every changed field, with who changed it and when.

It is written by a `before_flush` hook rather than by each service, so no path that changes an
enterprise — an admin's PATCH, the enterprise's own contact edits, an import updating rows — can
forget it: the history rows join the same transaction as the change. Bulk UPDATEs by primary key
(the import) bypass the flush, so they call `record_bulk_updates` first. The author is the
request's authenticated user (none for the CLI and jobs).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, has_request_context
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from service_app.auth.service import loaded_user
from service_app.common.time import utcnow
from service_app.enterprises.models import EnterpriseChange
from service_app.extensions import db
from service_app.org.models import Enterprise

# Bookkeeping columns are not history.
UNTRACKED = frozenset({"id", "created_at", "updated_at"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _changes(enterprise: Enterprise) -> list[tuple[str, str | None, str | None]]:
    state = inspect(enterprise)
    changes = []
    for attribute in state.mapper.column_attrs:
        if attribute.key in UNTRACKED:
            continue
        history = state.attrs[attribute.key].history
        if not history.added:
            continue
        old = _text(history.deleted[0]) if history.deleted else None
        new = _text(history.added[0])
        if old != new:
            changes.append((attribute.key, old, new))
    return changes


def record_changes(session: Session, _flush_context, _instances) -> None:
    author_id, now = _author_id(), utcnow()
    for instance in list(session.dirty):
        if not isinstance(instance, Enterprise) or instance.id is None:
            continue
        for field, old, new in _changes(instance):
            session.add(
                EnterpriseChange(
                    enterprise_id=instance.id,
                    changed_at=now,
                    changed_by_id=author_id,
                    field=field,
                    old_value=old,
                    new_value=new,
                )
            )


def _author_id() -> int | None:
    author = loaded_user() if has_request_context() else None
    return author.id if author else None


def record_bulk_updates(rows: list[dict[str, Any]], *, chunk: int = 500) -> None:
    """History of a bulk UPDATE by primary key (`rows` carry `id` and the new values), before it runs."""
    now, author_id, changes = utcnow(), _author_id(), []
    for start in range(0, len(rows), chunk):
        part = {row["id"]: row for row in rows[start : start + chunk]}
        fields = sorted({key for row in part.values() for key in row} - UNTRACKED)
        columns = [getattr(Enterprise, name) for name in fields]
        for current in db.session.execute(select(Enterprise.id, *columns).where(Enterprise.id.in_(part))):
            for name, old in zip(fields, current[1:], strict=True):
                new = part[current.id].get(name, old)
                if _text(old) != _text(new):
                    changes.append(
                        {
                            "enterprise_id": current.id,
                            "changed_at": now,
                            "changed_by_id": author_id,
                            "field": name,
                            "old_value": _text(old),
                            "new_value": _text(new),
                        }
                    )
    if changes:
        db.session.execute(insert(EnterpriseChange), changes)


def init_app(_app: Flask) -> None:
    if not event.contains(Session, "before_flush", record_changes):
        event.listen(Session, "before_flush", record_changes)
