"""statistics count the open problems under supervision (督办中)

The managers' dashboard showed its 督办 tile by paging through the supervised problems; the
snapshots now carry the count, like `overdue`. Existing snapshot rows read 0 until the next
statistics run recomputes them (the scheduler's `stats.snapshot` job, `flask scheduler run-once
stats.snapshot`, or `POST /api/v1/stats/refresh`).

Revision ID: 02501
Revises: 02401
Create Date: 2026-12-02 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '02501'
down_revision = '02401'
branch_labels = None
depends_on = None

_TABLES = ('stat_figures', 'stat_trend_points')


def upgrade():
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('supervised', sa.Integer(), nullable=False, server_default='0'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('supervised', server_default=None)


def downgrade():
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('supervised')
