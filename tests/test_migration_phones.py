"""Migration 00701 makes users.phone unique: numbers that are not one person's mobile are cleared first."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from tests.conftest import make_app


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """An empty database of the same backend as the session's (its own, so it can start at 0006)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'phones.db'}"
        return
    url = sa.engine.make_url(database_url)
    scratch = url.set(database=f"{url.database}_phones")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def run(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(statement))

    run(f'DROP DATABASE IF EXISTS "{scratch.database}"')
    run(f'CREATE DATABASE "{scratch.database}"')
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        run(f'DROP DATABASE IF EXISTS "{scratch.database}"')
        admin.dispose()


def test_landlines_and_duplicate_phones_are_cleared_before_the_unique_constraint(scratch_url):
    app = make_app(scratch_url)
    with app.app_context():
        upgrade(revision="0006")
        from service_app.extensions import db

        users = [
            ("dept", "0731-28680001"),
            ("first", "13800000001"),
            ("second", "13800000001"),
            ("other", "13900000002"),
            ("none", None),
        ]
        with db.engine.begin() as connection:
            for username, phone in users:
                connection.execute(
                    sa.text(
                        "INSERT INTO users (username, name, role, password_hash, phone, is_active, created_at,"
                        " updated_at)"
                        " VALUES (:u, :u, 'manager', 'x', :p, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"u": username, "p": phone},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = dict(connection.execute(sa.text("SELECT username, phone FROM users")).all())
            flags = connection.execute(sa.text("SELECT DISTINCT must_change_password FROM users")).scalars().all()
        db.engine.dispose()
    assert rows == {"dept": None, "first": "13800000001", "second": None, "other": "13900000002", "none": None}
    assert flags == [False]
