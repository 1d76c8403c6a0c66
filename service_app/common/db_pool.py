"""Pooled connections: checked only when they may have gone stale, and kept with their prepared statements.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout: a round trip per request, as
much as the session check or the page query. A connection in steady use is alive; one that sat
idle in the pool may have been dropped (database restart, firewall or server idle timeout). So
a connection is pinged only when it was checked in at least `idle_seconds` ago; a failed ping
makes the pool replace it before the request sees it (SQLAlchemy's DisconnectionError
protocol). A connection that dies under traffic fails its request with the 503 of
errors.handle_database_unavailable, and SQLAlchemy then invalidates the pool's older connections.

Requests with a safe method read outside a transaction (`reads_outside_transactions`): no BEGIN
and no COMMIT round trip; their first write, if any, opens one.
"""

from __future__ import annotations

import re
import time
import weakref

from flask import Flask, has_request_context, request
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


_READING_ENGINES: weakref.WeakSet = weakref.WeakSet()
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE
# Statements that only read: a SELECT without a row lock. Anything else (DML, a CTE, SAVEPOINT, SET,
# a locking SELECT, an advisory lock) first opens a transaction.
_PLAIN_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_LOCKS = re.compile(r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY\s+SHARE)\b|advisory", re.IGNORECASE)


def reads_outside_transactions(engine: Engine) -> None:
    """A request with a safe method reads without BEGIN and COMMIT; its first write opens a transaction.

    Every request used to pay two round trips besides its own statements: psycopg's BEGIN before the
    first one and the COMMIT (or the pool's ROLLBACK) at the end. A read needs neither: under READ
    COMMITTED, PostgreSQL's level here, each statement takes its own snapshot inside a transaction as
    well as outside one, and SQLite's WAL readers see the last commit either way. So a connection
    begun by a GET/HEAD/OPTIONS request runs in the driver's autocommit (psycopg) or without SQLite's
    BEGIN, until a statement that is not a plain SELECT (`_PLAIN_READ`, `_LOCKS`): that one first
    opens a real transaction (psycopg's BEGIN, SQLite's BEGIN IMMEDIATE), so a write a safe request
    makes is one transaction as before, committed by its service or rolled back at the end. Nothing
    is rolled back at the end of a read either, so psycopg keeps its prepared statements.
    """
    _READING_ENGINES.add(engine)
    sqlite = engine.dialect.name == "sqlite"

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        if not _safe_request():
            return
        if not sqlite:
            dbapi_connection = connection.connection.dbapi_connection
            if dbapi_connection.info.transaction_status != _IDLE:
                return  # already inside a transaction: the read ends as before (end_reads_with_commit)
            dbapi_connection.autocommit = True
        connection.info["reading"] = True

    dbapi_error = engine.dialect.loaded_dbapi.Error

    def _leave_autocommit(dbapi_connection) -> bool:
        """psycopg refuses only when the connection is not idle: broken (the statement that follows
        fails and SQLAlchemy discards it) or already inside a transaction (which then holds the write)."""
        try:
            dbapi_connection.autocommit = False
        except dbapi_error:
            return False
        return True

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not connection.info.get("reading") or _plain_read(statement):
            return
        del connection.info["reading"]
        dbapi_connection = connection.connection.dbapi_connection
        if not sqlite:
            _leave_autocommit(dbapi_connection)  # psycopg sends BEGIN before this statement
            return
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except dbapi_error as error:  # as SQLAlchemy would raise it (a busy database: 503)
            raise exc.DBAPIError.instance("BEGIN IMMEDIATE", None, error, dbapi_error) from error

    def _end(connection) -> None:
        if connection.invalidated:
            return  # its DBAPI connection is discarded: the pool's record starts afresh
        info = connection.info
        if info.get("reading") and (sqlite or _leave_autocommit(connection.connection.dbapi_connection)):
            del info["reading"]  # else the check-in below tries again

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        if record.info.pop("reading", None) and dbapi_connection is not None and not sqlite:
            if not _leave_autocommit(dbapi_connection):
                record.invalidate()  # never back in the pool in autocommit


def begins_reading(connection) -> bool:
    """True when `connection` begins for a request with a safe method on an engine set up by
    `reads_outside_transactions` (SQLite's BEGIN hook asks it before sending BEGIN)."""
    return connection.engine in _READING_ENGINES and _safe_request()


def _safe_request() -> bool:
    return has_request_context() and request.method in _SAFE_METHODS


_PLAIN_READS: dict[str, bool] = {}
PLAIN_READS_KEPT = 512  # a few kilobytes each at most


def _plain_read(statement: str) -> bool:
    """Whether `statement` only reads, kept per statement text: SQLAlchemy hands the same cached
    string for every execution of a statement, and a page's SQL is a few kilobytes to scan."""
    known = _PLAIN_READS.get(statement)
    if known is None:
        known = bool(_PLAIN_READ.match(statement)) and not _LOCKS.search(statement)
        if len(_PLAIN_READS) >= PLAIN_READS_KEPT:
            _PLAIN_READS.clear()
        _PLAIN_READS[statement] = known
    return known


def reading(session: Session) -> bool:
    """True when the session's transaction has only read so far, outside a database transaction."""
    transaction = session.get_transaction()
    if transaction is None:
        return False
    connections = transaction._connections  # noqa: SLF001 (SQLAlchemy exposes no public accessor)
    return bool(connections) and all(
        not entry[0].invalidated and entry[0].info.get("reading") for entry in connections.values()
    )


def end_reads_with_commit(app: Flask, session_class: type[Session]) -> None:
    """End a request that only read with COMMIT instead of the pool's ROLLBACK.

    psycopg prepares a statement on the server once a connection has run it five times, so the
    session check and a page query are planned once per connection instead of at every request
    (planning the session check's join cost twice its execution). But psycopg forgets every
    prepared statement at ROLLBACK, and the pool rolls back each returned connection: nothing ever
    stayed prepared. A transaction that wrote nothing ends the same way with either; a request
    with a safe method that raised nothing and wrote nothing (no flush, no DML through the session)
    now commits, and the pool finds the connection idle. Anything else still rolls back.
    Since `reads_outside_transactions`, most reads open no transaction at all and end with nothing
    sent; this still ends the safe requests that opened one (a locking read, a write undone).
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
        if not session.in_transaction() or reading(session):
            return  # nothing to end: the pool's reset sends nothing for a connection that only read
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
