"""Pooled connections: checked only when they may have gone stale, and kept with their prepared statements.

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

from flask import Flask, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


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


def end_reads_with_commit(app: Flask, session_class: type[Session]) -> None:
    """End a request that only read with COMMIT instead of the pool's ROLLBACK.

    psycopg prepares a statement on the server once a connection has run it five times, so the
    session check and a page query are planned once per connection instead of at every request
    (planning the session check's join cost twice its execution). But psycopg forgets every
    prepared statement at ROLLBACK, and the pool rolls back each returned connection: nothing ever
    stayed prepared. A transaction that wrote nothing ends the same way with either; a request
    with a safe method that raised nothing and wrote nothing (no flush, no DML through the session)
    now commits, and the pool finds the connection idle. Anything else still rolls back.
    """

    for name, listener in (("after_flush", _flushed), ("do_orm_execute", _executed)):
        if not event.contains(session_class, name, listener):  # once, however many apps are built
            event.listen(session_class, name, listener)

    @app.teardown_request
    def _end_read(exc: BaseException | None) -> None:
        from service_app.extensions import db

        if exc is not None or request.method not in _SAFE_METHODS or "sqlalchemy" not in app.extensions:
            return
        session = db.session()
        if session.info.get("wrote") or session.new or session.dirty or session.deleted:
            return
        if not session.in_transaction():
            return
        try:
            session.commit()
        except SQLAlchemyError:  # the answer is already made; the pool discards a broken connection
            session.rollback()


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _flushed(session: Session, _context) -> None:
    session.info["wrote"] = True


def _executed(state) -> None:
    if not state.is_select:
        state.session.info["wrote"] = True
