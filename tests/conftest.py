"""Test fixtures: every test runs on SQLite and on PostgreSQL.

The schema is built once per backend with the real migrations (`flask db upgrade`). Each test
runs inside a connection-level transaction that is rolled back afterwards; the app's session joins
it with savepoints (`join_transaction_mode="create_savepoint"`), so service code can commit freely.

PostgreSQL comes from TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
When it is unreachable its tests are skipped, except under CI=true, where that is an error.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
import sqlalchemy.orm

from service_app import create_app
from service_app.attachments import storage
from service_app.auth.models import Role
from service_app.extensions import db, limiter
from tests.factories import (
    AdminFactory,
    CadreFactory,
    DepartmentUserFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)
from tests.helpers import auth_headers

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
def headers(client):
    """headers(user, **extra): bearer headers, logging each user in once per test."""
    tokens: dict[int, dict] = {}

    def build(user, **extra) -> dict:
        if user.id not in tokens:
            tokens[user.id] = auth_headers(client, user)
        return {**tokens[user.id], **extra}

    return build


@pytest.fixture
def admin_headers(client, app_ctx) -> dict:
    return auth_headers(client, AdminFactory())


@pytest.fixture
def manager_headers(client, app_ctx) -> dict:
    return auth_headers(client, UserFactory(role=Role.MANAGER.value))


@pytest.fixture
def role_headers(client, app_ctx) -> dict[str, dict]:
    """Bearer headers of a fresh user of every role (the cadre linked to one enterprise), by role value."""
    cadre = CadreFactory()
    LinkFactory(cadre=cadre)
    users = {
        Role.ENTERPRISE.value: EnterpriseUserFactory(),
        Role.CADRE.value: cadre,
        Role.DEPARTMENT.value: DepartmentUserFactory(),
        Role.MANAGER.value: UserFactory(role=Role.MANAGER.value),
        Role.ADMIN.value: AdminFactory(),
    }
    return {role: auth_headers(client, user) for role, user in users.items()}


@pytest.fixture
def caller_headers(role_headers) -> dict[str, dict]:
    """`role_headers` and an anonymous caller (no Authorization header)."""
    return {"anonymous": {}, **role_headers}


# --- attachment storage: the local directory, and S3 through a real HTTP peer (moto's server) ---


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible HTTP endpoint (moto's threaded server on a free loopback port)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, app, tmp_path):
    """Install a fresh backend of each kind as the app's upload storage for one test."""
    kind = request.param
    config = {**app.config, "ATTACHMENT_STORAGE": kind, "ATTACHMENT_DIR": str(tmp_path / "attachments")}
    if kind == "s3":
        config.update(
            S3_ENDPOINT_URL=request.getfixturevalue("s3_endpoint"),
            S3_BUCKET=f"attachments-{uuid.uuid4().hex[:12]}",
            S3_REGION="us-east-1",
            S3_ACCESS_KEY_ID="test-key",
            S3_SECRET_ACCESS_KEY="test-secret",
        )
    storages = storage.build(config)
    if kind == "s3":
        storages["s3"].client.create_bucket(Bucket=config["S3_BUCKET"])
    saved = app.extensions["attachment_storages"], app.config["ATTACHMENT_STORAGE"]
    app.extensions["attachment_storages"], app.config["ATTACHMENT_STORAGE"] = storages, kind
    try:
        yield storages[kind]
    finally:
        app.extensions["attachment_storages"], app.config["ATTACHMENT_STORAGE"] = saved


@pytest.fixture
def backend_name(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


@contextmanager
def count_queries(app, *, with_parameters: bool = False, transactions: bool = False):
    """The SQL statements executed on the app's engine inside the block (savepoints aside);
    `(statement, parameters)` pairs with `with_parameters=True`. With `transactions=True` the
    session's transactions are in the list too, as "BEGIN" and "COMMIT" where a session begins and
    commits one: the round trips the driver sends by itself (here the tests' savepoints stand in
    for them, which the list leaves out)."""
    statements: list = []

    def listener(_conn, _cursor, statement, params, _context, _executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            statements.append((statement, params) if with_parameters else statement)

    def mark(word: str) -> None:
        statements.append((word, None) if with_parameters else word)

    def begun(_session, transaction) -> None:
        if transaction.parent is None:  # a session's own transaction, not a savepoint in it
            mark("BEGIN")

    def committed(session) -> None:
        if not session.in_nested_transaction():  # a savepoint's release is not a COMMIT
            mark("COMMIT")

    session_events = (("after_transaction_create", begun), ("after_commit", committed)) if transactions else ()
    with app.app_context():
        bind = db.engines[None]
        engine = bind.engine if isinstance(bind, sa.engine.Connection) else bind
    sa.event.listen(engine, "before_cursor_execute", listener)
    for name, function in session_events:
        sa.event.listen(sa.orm.Session, name, function)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
        for name, function in session_events:
            sa.event.remove(sa.orm.Session, name, function)
