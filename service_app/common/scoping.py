"""Object-level visibility as one scoped query: lists start from it, and an object outside it is a 404.

Each domain says who sees what as a WHERE condition on its model (None: everything); these
helpers turn that condition into the list query, the single-object read and the yes/no check.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from service_app.errors import NotFound
from service_app.extensions import db


def scoped(model: Any, condition: Any) -> Select:
    """SELECT of `model` rows under `condition` (None: all of them)."""
    query = select(model)
    return query if condition is None else query.where(condition)


def get_scoped(model: Any, condition: Any, object_id: int, *, for_update: bool = False) -> Any:
    """The row if it is in scope, locked when `for_update`; otherwise 404, exactly as if it did not exist."""
    query = scoped(model, condition).where(model.id == object_id)
    if for_update:
        query = query.with_for_update(of=model)
    row = db.session.scalar(query)
    if row is None:
        raise NotFound()
    return row


def in_scope(model: Any, condition: Any, object_id: int) -> bool:
    """Whether the row exists and is in scope, reading only its id."""
    query = select(model.id).where(model.id == object_id)
    if condition is not None:
        query = query.where(condition)
    return db.session.scalar(query) is not None
