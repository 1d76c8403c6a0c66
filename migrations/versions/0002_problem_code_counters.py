"""problem code counters

One row per Asia/Shanghai day holding the last problem number handed out, so that problem codes
(WT-YYYYMMDD-NNNN) are numbered without races (see service_app/problems/codes.py).

Revision ID: 0002
Revises: 0004
Create Date: 2026-11-21 17:43:26.540704

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('problem_code_counters',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_problem_code_counters'))
    )


def downgrade():
    op.drop_table('problem_code_counters')
