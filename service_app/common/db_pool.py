"""Pooled connections checked only when they may have gone stale.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout: a round trip per request, as
much as the session check or the page query. A connection in steady use is alive; one that sat
idle in the pool may have been dropped (database restart, firewall or server idle timeout). So
a connection is pinged only when it was checked in at least `idle_seconds` ago; a failed ping
makes the pool replace it before the request sees it (SQLAlchemy's DisconnectionError
protocol). A connection that dies under traffic fails its request with the 503 of
errors.handle_database_unavailable, and SQLAlchemy then invalidates the pool's older connections.
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout when it has been idle for `idle_seconds` or more."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("ping failed")
