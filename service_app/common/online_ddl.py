"""Schema changes a live PostgreSQL can take, for migrations: no long lock on a busy table.

`CREATE INDEX` blocks writes to its table until the index is built (minutes on a large table);
`CREATE INDEX CONCURRENTLY` does not, but cannot run inside a transaction, hence Alembic's
autocommit block. A concurrent build that failed leaves an INVALID index behind, so a retry drops
it first. A CHECK constraint is added NOT VALID (no scan under the exclusive lock) and validated
afterwards under a lock that lets reads and writes go on. SQLite gets the plain statements.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import TextClause


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_index(name: str, table: str, columns: Sequence[str], *, where: TextClause | None = None) -> None:
    if not _postgresql():
        op.create_index(name, table, list(columns), sqlite_where=where)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(name, table, list(columns), postgresql_where=where, postgresql_concurrently=True)


def drop_index(name: str, table: str) -> None:
    if not _postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def create_check_constraint(name: str, table: str, condition: str) -> None:
    if not _postgresql():
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_check_constraint(name, condition)
        return
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" CHECK ({condition}) NOT VALID')
    op.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
