"""Pooled connections (common/db_pool.py): pinged only after sitting idle, so a connection the
database dropped while it waited in the pool is replaced before a request uses it; and kept with
their prepared statements by reads that end with COMMIT."""

from __future__ import annotations

from datetime import UTC

import pytest
import sqlalchemy as sa

from service_app.auth.models import AuthSession, User
from service_app.common.db_pool import ping_after_idle
from service_app.extensions import db
from tests.factories import UserFactory
from tests.helpers import login


def _drop_server_side(url: str, pid: int) -> None:
    killer = sa.create_engine(url, poolclass=sa.NullPool)
    with killer.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()


@pytest.mark.committing
def test_a_connection_dropped_while_idle_is_replaced_and_one_in_use_is_not_pinged(database_url, backend):
    if backend != "postgresql":
        pytest.skip("the server side of a connection is dropped with pg_terminate_backend")
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    pings = []
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)
    ping_after_idle(engine, idle_seconds=3600)
    returned = []
    sa.event.listen(engine, "checkin", lambda _connection, record: returned.append(record))
    try:
        with engine.connect() as connection:
            first = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as connection:  # back at once: not pinged, same connection
            assert connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() == first
        assert pings == []

        _drop_server_side(database_url, first)
        returned[-1].info["idle_since"] -= 7200  # as if it had waited in the pool for two hours
        with engine.connect() as connection:  # pinged, found dead, replaced: the caller sees no error
            second = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first and pings == [1]
    finally:
        engine.dispose()


@pytest.mark.committing
def test_requests_that_only_read_keep_their_prepared_statements(app, client, backend):
    """A read ends with COMMIT (common/db_pool.end_reads_with_commit): psycopg keeps what it prepared,
    so the session check is planned once per connection, not at every request."""
    if backend != "postgresql":
        pytest.skip("server-side prepared statements are PostgreSQL's")
    with app.app_context():
        user = UserFactory()
        db.session.commit()
        user_id, username = user.id, user.username
        db.engine.dispose()  # one connection from here on: the requests and the check below share it
    try:
        headers = {"Authorization": f"Bearer {login(client, username)['access_token']}"}
        for _ in range(8):
            assert client.get("/api/v1/me", headers=headers).status_code == 200
        with app.app_context():
            prepared = db.session.scalars(sa.text("SELECT statement FROM pg_prepared_statements")).all()
        assert any("auth_sessions" in statement for statement in prepared), prepared
    finally:
        with app.app_context():
            db.session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user_id))
            db.session.execute(sa.delete(User).where(User.id == user_id))
            db.session.commit()


def test_postgresql_sessions_run_in_utc_so_timestamps_need_no_conversion(app_ctx, backend):
    """UTCDateTime skips its per-value conversion on PostgreSQL (common/types.py): that holds because
    create_app opens every session in UTC, whatever the server's default time zone."""
    if backend != "postgresql":
        pytest.skip("SQLite stores naive UTC, converted by UTCDateTime")
    assert db.session.execute(sa.text("SHOW timezone")).scalar_one() == "UTC"
    user = UserFactory()
    db.session.flush()
    created = db.session.execute(sa.select(User.created_at).where(User.id == user.id)).scalar_one()
    assert created.tzinfo is UTC


def _in_transaction(session) -> bool:
    return _dbapi_in_transaction(session.connection().connection.dbapi_connection)


def _dbapi_in_transaction(dbapi_connection) -> bool:
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return dbapi_connection.in_transaction
    import psycopg

    return dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


def _usernames(app, prefix: str) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.select(User.username).where(User.username.startswith(prefix))).all()


def _forget_users(app, prefix: str) -> None:
    with app.app_context():
        db.session.execute(sa.delete(User).where(User.username.startswith(prefix)))
        db.session.commit()


@pytest.mark.committing
def test_a_safe_request_reads_outside_a_transaction_and_its_first_write_opens_one(app):
    """common/db_pool.reads_outside_transactions: no BEGIN/COMMIT round trips for a read; a write made
    by a GET is still one transaction, committed by its service or rolled back at the end."""
    try:
        with app.test_request_context("/", method="GET"):
            assert db.session.scalars(sa.select(User.id).limit(1)).all() is not None
            assert not _in_transaction(db.session)
            db.session.add(UserFactory.build(username="readwrite1"))
            db.session.flush()
            assert _in_transaction(db.session)
            db.session.add(UserFactory.build(username="readwrite2"))
            db.session.commit()
            # After the commit the session reads outside a transaction again.
            assert db.session.scalar(sa.select(sa.func.count(User.id))) >= 2
            assert not _in_transaction(db.session)
        assert sorted(_usernames(app, "readwrite")) == ["readwrite1", "readwrite2"]

        with app.test_request_context("/", method="GET"):
            db.session.scalars(sa.select(User.id).limit(1)).all()
            db.session.add(UserFactory.build(username="readwrite3"))
            db.session.flush()
            db.session.add(UserFactory.build(username="readwrite1"))  # taken: the flush fails
            with pytest.raises(sa.exc.IntegrityError):
                db.session.flush()
            db.session.rollback()
        assert "readwrite3" not in _usernames(app, "readwrite")  # the write before the failure went too

        with app.test_request_context("/", method="GET"):
            db.session.add(UserFactory.build(username="readwrite4"))
            db.session.flush()  # never committed: the end of the request rolls it back
        with app.app_context():
            db.session.remove()
        assert "readwrite4" not in _usernames(app, "readwrite")

        # The pooled connection is back to transactions for everything else.
        with app.test_request_context("/", method="POST"):
            db.session.scalars(sa.select(User.id).limit(1)).all()
            assert _in_transaction(db.session)
            db.session.rollback()
        with app.app_context():
            db.session.scalars(sa.select(User.id).limit(1)).all()
            assert _in_transaction(db.session)
            db.session.rollback()
    finally:
        _forget_users(app, "readwrite")


@pytest.mark.committing
def test_a_locking_read_of_a_safe_request_opens_a_transaction(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no row locks (FOR UPDATE is not sent)")
    with app.test_request_context("/", method="GET"):
        db.session.scalars(sa.select(User.id).limit(1).with_for_update()).all()
        assert _in_transaction(db.session)  # the lock is held until the transaction ends
        db.session.rollback()


@pytest.mark.committing
def test_a_read_request_sends_its_statement_outside_a_transaction(app, client):
    """GET /me end to end: the session check is its one statement, run outside a transaction (no BEGIN
    before it, nothing to COMMIT or roll back after it)."""
    with app.app_context():
        user = UserFactory(username="idleread")
        db.session.commit()
        user_id = user.id
        engine = db.engine
    try:
        headers = {"Authorization": f"Bearer {login(client, 'idleread')['access_token']}"}
        seen = []

        def executed(connection, _cursor, statement, *_args) -> None:
            seen.append((statement.split()[0].upper(), _dbapi_in_transaction(connection.connection.dbapi_connection)))

        returned = []

        def checked_in(_dbapi_connection, record) -> None:
            returned.append(record)

        engine.dispose()  # one connection from here on: the one aged below serves the next request
        sa.event.listen(engine, "after_cursor_execute", executed)
        sa.event.listen(engine, "checkin", checked_in)
        try:
            assert client.get("/api/v1/me", headers=headers).status_code == 200
            assert seen == [("SELECT", False)]
            # A connection pinged after idling (db_pool.ping_after_idle; psycopg pings in autocommit) too.
            assert len({id(record) for record in returned}) == 1
            returned[-1].info["idle_since"] -= 7200
            assert client.get("/api/v1/me", headers=headers).status_code == 200
            assert seen == [("SELECT", False), ("SELECT", False)]
        finally:
            sa.event.remove(engine, "after_cursor_execute", executed)
            sa.event.remove(engine, "checkin", checked_in)
    finally:
        with app.app_context():
            db.session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user_id))
            db.session.execute(sa.delete(User).where(User.id == user_id))
            db.session.commit()


@pytest.mark.committing
def test_a_safe_request_on_a_connection_already_in_a_transaction_reads_inside_it(app, backend):
    """Defensive: a pooled connection that comes out inside a transaction is not switched to
    autocommit (psycopg refuses that mid-transaction); the read happens in that transaction."""
    if backend != "postgresql":
        pytest.skip("psycopg's autocommit switch")
    with app.app_context():
        engine = db.engine

    def left_in_transaction(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.cursor().execute("SELECT 1")

    sa.event.listen(engine, "checkout", left_in_transaction)
    try:
        with app.test_request_context("/", method="GET"):
            assert db.session.scalars(sa.select(User.id).limit(1)).all() is not None
            assert _in_transaction(db.session)
            db.session.rollback()
    finally:
        sa.event.remove(engine, "checkout", left_in_transaction)


@pytest.mark.parametrize(
    ("statement", "plain"),
    [
        ("SELECT users.id FROM users WHERE users.id = %(id)s", True),
        ("\n  select 1", True),
        ("SELECT users.id FROM users FOR UPDATE OF users", False),
        ("SELECT id FROM problems FOR NO KEY UPDATE", False),
        ("SELECT id FROM problems FOR SHARE", False),
        ("SELECT pg_advisory_xact_lock(1)", False),
        ("WITH moved AS (UPDATE problems SET status = 'x' RETURNING id) SELECT id FROM moved", False),
        ("INSERT INTO users (id) VALUES (1)", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("SELECTED", False),
    ],
)
def test_what_counts_as_a_plain_read(statement, plain):
    from service_app.common.db_pool import _plain_read

    assert _plain_read(statement) is plain
    assert _plain_read(statement) is plain  # kept, same answer


@pytest.mark.committing
def test_a_read_whose_connection_dies_fails_as_the_database_being_unavailable(app, client, database_url, backend):
    """The connection of a read dropped by the server: the request answers 503 (not a 500 from the
    end-of-request hooks), and the next request gets a fresh connection."""
    if backend != "postgresql":
        pytest.skip("the server side of a connection is dropped with pg_terminate_backend")
    with app.app_context():
        user = UserFactory(username="diesreading")
        db.session.commit()
        user_id = user.id
        engine = db.engine
    try:
        headers = {"Authorization": f"Bearer {login(client, 'diesreading')['access_token']}"}
        engine.dispose()  # one connection from here on: the one dropped below
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        with app.app_context():
            pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            db.session.rollback()
        _drop_server_side(database_url, pid)
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 503 and response.get_json()["error_code"] == "service_unavailable"
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        with app.app_context():
            db.session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user_id))
            db.session.execute(sa.delete(User).where(User.id == user_id))
            db.session.commit()
