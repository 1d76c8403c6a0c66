"""Index migrations are safe on a live PostgreSQL (issue 16): 0006 builds its indexes CONCURRENTLY
outside the migration's transaction and adds its CHECK without a long exclusive lock."""

from __future__ import annotations

import re

import pytest
from flask_migrate import upgrade


@pytest.mark.committing  # offline (--sql): nothing is written, but the engine must be the real one
def test_0006_builds_indexes_concurrently_on_postgresql(app, backend, capsys):
    if backend != "postgresql":
        pytest.skip("CONCURRENTLY is PostgreSQL's; SQLite builds the same indexes in the session's migrated schema")
    with app.app_context():
        upgrade(revision="0005:0006", sql=True)
    script = capsys.readouterr().out
    created = re.findall(r"CREATE INDEX CONCURRENTLY (\w+) ON problems", script)
    assert created == ["ix_problems_handler_id_id", "ix_problems_open_id_due_at", "ix_problems_supervised_id"]
    assert "CREATE INDEX ix_" not in script
    # Each build runs outside a transaction block (PostgreSQL refuses CONCURRENTLY inside one).
    in_transaction, outside = False, []
    for statement in (line.strip() for line in script.split(";")):
        if statement.endswith("BEGIN") or statement.endswith("COMMIT"):
            in_transaction = statement.endswith("BEGIN")
        elif "CONCURRENTLY" in statement:
            outside.append(not in_transaction)
    assert outside == [True] * 6  # a DROP … IF EXISTS (a failed build's leftover) and a CREATE per index
    assert "NOT VALID" in script and "VALIDATE CONSTRAINT" in script
