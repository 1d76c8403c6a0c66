"""联企 service backend: the application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, send_from_directory

from service_app import config as config_module


class ServiceFlask(Flask):
    """Flask, asking once per function (not at every request) whether a hook or view is `async`.

    Flask runs every before/after/teardown hook and the view through `ensure_sync`, which inspects
    the function each time: a dozen `inspect.iscoroutinefunction` calls a request. The answer for a
    given function object never changes, so it is kept: the hooks and views are registered once;
    functions made per request (`after_this_request`) cannot grow it past `SYNCED_KEPT`.
    """

    SYNCED_KEPT = 1024

    def ensure_sync(self, func):
        synced = self.__dict__.setdefault("_synced", {})
        try:
            return synced[func]
        except KeyError:
            if len(synced) >= self.SYNCED_KEPT:
                synced.clear()
            synced[func] = result = super().ensure_sync(func)
            return result
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, CLI."""
    from service_app.common.jsonprovider import JSONProvider

    app = ServiceFlask(__name__, instance_relative_config=False)
    app.json = JSONProvider(app)
    _bound_integer_urls(app)
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    if app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
            app.config["SQLALCHEMY_DATABASE_URI"]
        )
    _refuse_unsafe_production(app)

    from service_app.common import http, logs

    logs.init_app(app)
    # Subsystems first: a bad setting fails before the shared extension objects are touched.
    _init_subsystems(app)
    _init_extensions(app)
    http.init_app(app)
    _register_blueprints(app)
    from service_app import dashboard

    dashboard.init_app(app)

    from service_app import errors

    errors.init_app(app)

    from service_app import cli

    cli.init_app(app)
    from service_app import scheduler

    scheduler.init_app(app)
    return app


def _bound_integer_urls(app: Flask) -> None:
    """`<int:id>` beyond a 32-bit key cannot name a row: answer 404 instead of overflowing the database."""
    from werkzeug.routing import IntegerConverter

    from service_app.common.schemas import MAX_ID

    class BoundedInteger(IntegerConverter):
        def __init__(self, map, *args, **kwargs):
            kwargs.setdefault("max", MAX_ID)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = BoundedInteger


def _refuse_unsafe_production(app: Flask) -> None:
    if app.config["APP_ENV"] != "production":
        return
    secret = app.config.get("JWT_SECRET_KEY")
    if not secret or len(secret) < 32:
        raise RuntimeError("JWT_SECRET_KEY must be set (32+ characters) when APP_ENV=production")


def _init_extensions(app: Flask) -> None:
    from flask_sqlalchemy.session import Session as FlaskSession

    from service_app import models  # noqa: F401  (registers every table)
    from service_app.auth import tokens
    from service_app.common.db_pool import end_reads_with_commit, ping_after_idle, reads_outside_transactions
    from service_app.extensions import api, db, init_migrations, limiter

    _prepare_sqlite(app)
    _prepare_postgresql(app)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_after_idle(engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
            reads_outside_transactions(engine)
    # Flask-SQLAlchemy's own Session class: every sessionmaker (the app's, a test's) subclasses it.
    end_reads_with_commit(app, FlaskSession)
    init_migrations(app, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    tokens.init_app(app)
    limiter.init_app(app)
    api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "四联行动联企服务 API: problems, visits, enterprises, statistics."},
            "servers": [{"url": "/", "description": "This server"}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})


def _init_subsystems(app: Flask) -> None:
    """Each subsystem's own set-up, and the rules a lower layer needs from a higher one, handed down.

    Attachments and visits sit below problems in the layers (tests/test_layers.py), so they are
    given the problem (and visit) rules they consult here, explicitly, rather than importing them.
    """
    from service_app.attachments import service as attachments
    from service_app.notifications import senders
    from service_app.problems import scoping as problem_scoping
    from service_app.visits import scoping as visit_scoping
    from service_app.visits import service as visits

    attachments.init_app(
        app,
        rules=attachments.DocumentRules(
            can_view_problem=problem_scoping.can_view_problem, can_view_visit=visit_scoping.can_view_visit
        ),
    )
    senders.init_app(app)
    visits.init_app(app, problems_raised=problem_scoping.raised_during_visit)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _prepare_sqlite(app: Flask) -> None:
    """SQLite: make the instance folder, and wait for locks instead of failing at once."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite"):
        return
    from pathlib import Path

    path = uri.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("connect_args", {}).setdefault("timeout", 30)
    _enable_sqlite_pragmas()


def _prepare_postgresql(app: Flask) -> None:
    """Sessions in UTC, whatever the server's default: timestamps then come back with Python's own
    UTC tzinfo, which UTCDateTime passes through (converting each one cost a list page 0.3 ms).
    SQL that needs local time says so (`AT TIME ZONE 'Asia/Shanghai'`, stats/sql.py)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    connect_args = options.setdefault("connect_args", {})
    connect_args["options"] = (connect_args.get("options", "") + " -c timezone=UTC").strip()


_pragmas_enabled = False


def _enable_sqlite_pragmas() -> None:
    """Enforce foreign keys and use WAL, so workers and the scheduler can read while one writes."""
    global _pragmas_enabled
    if _pragmas_enabled:
        return
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; let
            # SQLAlchemy emit BEGIN itself (the SQLAlchemy documentation's pysqlite recipe).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(connection):
        from service_app.common.db_pool import begins_reading

        if connection.dialect.name == "sqlite" and not begins_reading(connection):
            connection.exec_driver_sql(_sqlite_begin())

    _pragmas_enabled = True


def _sqlite_begin() -> str:
    """`BEGIN IMMEDIATE` for work that will write, plain `BEGIN` for reads.

    A deferred transaction that read first cannot take the write lock once another connection
    has committed since its snapshot: SQLite answers SQLITE_BUSY at once, without waiting (a
    login failed that way while the scheduler wrote). Taking the write lock up front makes such
    work wait its turn instead. Requests with a safe method only read, so they stay concurrent:
    they send no BEGIN at all (`common.db_pool.reads_outside_transactions`, which opens a BEGIN
    IMMEDIATE transaction at such a request's first write).
    """
    from flask import has_request_context, request

    if has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"):
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def _register_blueprints(app: Flask) -> None:
    from swagger_ui_bundle import swagger_ui_path

    from service_app.attachments.routes import blp as attachments_blp
    from service_app.auth.account_routes import blp as account_blp
    from service_app.auth.routes import blp as auth_blp
    from service_app.enterprises.routes import blp as enterprises_blp
    from service_app.extensions import api
    from service_app.health.routes import blp as health_blp
    from service_app.notifications.routes import blp as notifications_blp
    from service_app.open311.admin_routes import blp as api_clients_blp
    from service_app.open311.routes import blp as open311_blp
    from service_app.org.routes import blp as org_blp
    from service_app.problems.calendar_routes import blp as calendar_blp
    from service_app.problems.routes import blp as problems_blp
    from service_app.scheduling.routes import blp as scheduling_blp
    from service_app.stats.routes import blp as stats_blp
    from service_app.todo.routes import blp as todo_blp
    from service_app.visits.routes import blp as visits_blp

    blueprints = (
        health_blp, auth_blp, account_blp, org_blp, enterprises_blp, problems_blp, visits_blp,
        attachments_blp, notifications_blp, stats_blp, scheduling_blp, todo_blp, api_clients_blp, calendar_blp,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    # The Open311 gateway has its own document (the GeoReport v2 spec), outside /api/v1's OpenAPI.
    app.register_blueprint(open311_blp)

    @app.route("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)
