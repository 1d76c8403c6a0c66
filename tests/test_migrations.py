"""Migrations: one head, and they build exactly the schema the models describe."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from service_app.extensions import db
from service_app.notifications.messages import render
from tests.conftest import make_app


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


def test_notices_are_converted_to_kind_and_parameters(tmp_path):
    """Migration 00901 turns the stored Chinese texts into parameters the messages render."""
    app = make_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision=_script(app).get_revision("00901").down_revision)
        connection = db.session.connection()
        connection.execute(sa.text(
            "INSERT INTO users (id, username, name, role, password_hash, is_active, created_at, updated_at) "
            "VALUES (1, 'cadre001', '干部', 'cadre', 'x', 1, '2019-05-01 00:00:00', '2019-05-01 00:00:00')"
        ))
        notices = [
            ("assigned", "新问题待受理：园区路灯不亮", "WT1", {"code": "WT1", "status": "submitted"}),
            ("visit_reminder", "走访提醒", "您有 2 家结对企业超过 30 天未走访", {"enterprise_ids": [4, 7], "days": 30}),
        ]
        for kind, title, body, data in notices:
            connection.execute(
                sa.text(
                    "INSERT INTO notifications (user_id, kind, title, body, data, created_at, delivery_attempts) "
                    "VALUES (1, :kind, :title, :body, :data, '2019-05-01 00:00:00', 0)"
                ),
                {"kind": kind, "title": title, "body": body, "data": json.dumps(data)},
            )
        db.session.commit()
        upgrade()
        rows = db.session.execute(sa.text("SELECT kind, params FROM notifications ORDER BY id")).all()
    converted = [(kind, json.loads(params)) for kind, params in rows]
    assert converted == [
        ("submitted", {"code": "WT1", "title": "园区路灯不亮"}),
        ("visit_reminder", {"enterprise_ids": [4, 7], "days": 30, "count": 2}),
    ]
    assert render(*converted[0], lang="en") == ("A new problem waits for you to accept it", "园区路灯不亮 (WT1)")
    assert render(*converted[1], lang="zh")[1] == "您有 2 家结对企业超过 30 天未走访，请安排走访。"
