"""Test fixtures: every test runs on SQLite and on PostgreSQL.

The schema is built once per backend with the real migrations (`flask db upgrade`). Each test
runs inside a connection-level transaction that is rolled back afterwards; the app's session joins
it with savepoints (`join_transaction_mode="create_savepoint"`), so service code can commit freely.

PostgreSQL comes from TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
When it is unreachable its tests are skipped, except under CI=true, where that is an error.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from service_app import create_app
from service_app.extensions import db, limiter

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}


def _pg_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)


def _pg_reachable(url: str) -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(error).__name__}: {error}".splitlines()[0]


def _backends() -> list[str]:
    wanted = os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",")
    return [b.strip() for b in wanted if b.strip()]


def pytest_report_header(config):
    url = _pg_url()
    reason = _pg_reachable(url) if "postgresql" in _backends() else "not requested"
    return f"backends: {', '.join(_backends())}; PostgreSQL {url}: {'reachable' if reason is None else reason}"


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(url: str, **extra):
    config = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "ACCESS_LOG": False,
        "LOG_JSON": False,
        "LOG_LEVEL": "WARNING",
        **FAST_ARGON2,
        **extra,
    }
    return create_app(config)


def migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session", params=_backends())
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    url = _pg_url()
    reason = _pg_reachable(url)
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but {url} is unreachable: {reason}", pytrace=False)
        pytest.skip(f"PostgreSQL unreachable ({reason})")
    _reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    application = make_app(database_url, ATTACHMENT_DIR=str(tmp_path_factory.mktemp("attachments")))
    migrate(application)
    with application.app_context():
        import seeds.reference

        seeds.reference.load()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _transaction(request):
    """Roll back everything a test wrote.

    Flask-SQLAlchemy picks the engine per table from `db.engines`, so a session-level `bind` is
    not enough: the default engine is swapped for one connection holding an outer transaction.
    Tests marked `committing` (real concurrency) manage their own data instead.
    """
    if "app" not in request.fixturenames or request.node.get_closest_marker("committing"):
        yield  # no database in this test, or it manages its own data
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        original_session = db.session
        engines[None] = connection
        db.session = db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        limiter.reset()
        try:
            yield
        finally:
            db.session.remove()
            db.session = original_session
            engines[None] = engine
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def backend_name(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


@contextmanager
def count_queries(app, *, with_parameters: bool = False):
    """The SQL statements executed on the app's engine inside the block (savepoints aside);
    `(statement, parameters)` pairs with `with_parameters=True`."""
    statements: list = []

    def listener(_conn, _cursor, statement, params, _context, _executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            statements.append((statement, params) if with_parameters else statement)

    with app.app_context():
        bind = db.engines[None]
        engine = bind.engine if isinstance(bind, sa.engine.Connection) else bind
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
