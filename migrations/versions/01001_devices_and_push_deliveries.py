"""devices and push deliveries

The devices users receive pushes on, and one delivery row per (notice, device) with its attempts and
next due time; the per-notice attempt counter goes (a notice's delivered_at now means "queued").

Revision ID: 01001
Revises: 00401
Create Date: 2026-12-01 16:07:39.631412

"""
import sqlalchemy as sa
from alembic import op

import service_app.common.types

# revision identifiers, used by Alembic.
revision = '01001'
down_revision = '00401'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('token', sa.String(length=255), nullable=False),
    sa.Column('app_version', sa.String(length=32), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', service_app.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service_app.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', service_app.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_devices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('token', name=op.f('uq_devices_token'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_user_id'), ['user_id'], unique=False)

    op.create_table('notification_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', service_app.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('created_at', service_app.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', service_app.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(
        ['device_id'], ['devices.id'], name=op.f('fk_notification_deliveries_device_id_devices'), ondelete='CASCADE'
    ),
    sa.ForeignKeyConstraint(
        ['notification_id'], ['notifications.id'],
        name=op.f('fk_notification_deliveries_notification_id_notifications'), ondelete='CASCADE',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('notification_id', 'device_id', name='uq_notification_deliveries_notice_device')
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_deliveries_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_notification_deliveries_state_due', ['state', 'next_attempt_at', 'id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('delivery_attempts')



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_attempts', sa.INTEGER(), server_default='0', nullable=False))

    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_deliveries_state_due')
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_device_id'))

    op.drop_table('notification_deliveries')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_user_id'))

    op.drop_table('devices')
