"""visit review

A manager confirms or dismisses a flagged check-in (far from the site, impossible speed…); only
unflagged or confirmed check-ins count as visits. The partial index holds the flagged check-ins
nobody has reviewed yet: the managers' queue stays small whatever the visit history.

Revision ID: 00601
Revises: 0006
Create Date: 2026-12-01 15:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

import service_app.common.types

# revision identifiers, used by Alembic.
revision = '00601'
down_revision = '0006'
branch_labels = None
depends_on = None

PENDING = sa.text('flagged AND review IS NULL')


def upgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', service_app.common.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_visits_reviewed_by_id_users'), 'users', ['reviewed_by_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_visits_review_values'), "review IS NULL OR review IN ('confirmed', 'dismissed')"
        )
        batch_op.create_index(
            'ix_visits_review_pending_id', ['id'], unique=False, postgresql_where=PENDING, sqlite_where=PENDING
        )


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_review_pending_id', postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.drop_constraint(batch_op.f('ck_visits_review_values'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_visits_reviewed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('review')
