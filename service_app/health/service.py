"""Whether this process can serve: the database answers."""

from __future__ import annotations

from sqlalchemy import text

from service_app.errors import ServiceUnavailable
from service_app.extensions import db


def check_database() -> None:
    """One trivial statement; any failure to reach the database is a 503 the caller may retry."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database means "not ready"
        db.session.rollback()
        raise ServiceUnavailable(headers={"Retry-After": "5"}) from None
