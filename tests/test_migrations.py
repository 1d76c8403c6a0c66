"""Migrations: one head, and they build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from service_app.extensions import db


def _script(app) -> ScriptDirectory:
    migrate = app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))


def test_single_head(app):
    with app.app_context():
        assert len(_script(app).get_heads()) == 1


def test_models_match_migrations(app_ctx):
    """What `flask db check` does, on this backend's migrated database."""
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, db.metadata)
    assert diff == [], diff


def test_database_is_at_head(app, app_ctx):
    current = MigrationContext.configure(db.session.connection()).get_current_heads()
    assert set(current) == set(_script(app).get_heads())
