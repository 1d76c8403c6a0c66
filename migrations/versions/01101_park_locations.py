"""parks: district, part of the high-tech zone and centre

Parks say where they lie: their administrative district (区), the part of the high-tech zone they
belong to and a centre for the map. Nullable: a zone adding a park may not know its centre yet.
`flask seed --data reference` fills them for the zone's parks (and for parks an older seed made).

Revision ID: 01101
Revises: 00801
Create Date: 2026-12-01 18:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '01101'
down_revision = '00801'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('parks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('zone_part', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lng', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('parks', schema=None) as batch_op:
        batch_op.drop_column('lng')
        batch_op.drop_column('lat')
        batch_op.drop_column('zone_part')
        batch_op.drop_column('district')
