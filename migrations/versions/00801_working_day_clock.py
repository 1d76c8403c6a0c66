"""working-day clock: the calendar, deadlines in working days, the new handling steps

The calendar's exceptions come from the `chinesecalendar` package for every year it covers (the
same rows `flask calendar load` inserts; a year already present is left as it is). Categories get
`response_days` = 1 and `resolve_days` = ceil(sla_hours / 24) in place of `sla_hours`; open
problems keep the deadlines they were given. Statistics snapshots count `open`, `awaiting_info` and
`urge_count`. Problems get the columns of the pause
(`awaiting_info`), extension requests, urging and withdrawal; department users `is_lead`.

Revision ID: 00801
Revises: 01001
Create Date: 2026-12-01 16:00:00

"""
import sqlalchemy as sa
from alembic import op

import service_app.common.types
from service_app.workdays.package import package_days

revision = '00801'
down_revision = '01001'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('submitted', 'accepted', 'rejected', 'dispatched', 'in_progress', 'resolved', 'closed')"
NEW_STATUSES = (
    "status IN ('submitted', 'accepted', 'rejected', 'dispatched', 'in_progress', 'awaiting_info', "
    "'resolved', 'closed', 'withdrawn')"
)


def upgrade():
    calendar = op.create_table(
        'calendar_days',
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_days_kind_valid')),
        sa.PrimaryKeyConstraint('date', name=op.f('pk_calendar_days')),
    )
    op.bulk_insert(
        calendar,
        [{'date': day, 'kind': kind, 'name': name} for days in package_days().values() for day, kind, name in days],
    )

    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_days', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('resolve_days', sa.Integer(), nullable=False, server_default='1'))
    op.execute("UPDATE categories SET resolve_days = (sla_hours + 23) / 24")
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.alter_column('response_days', server_default=None)
        batch_op.alter_column('resolve_days', server_default=None)
        batch_op.drop_constraint(op.f('ck_categories_sla_positive'), type_='check')
        batch_op.drop_column('sla_hours')
        batch_op.create_check_constraint(op.f('ck_categories_response_days_positive'), 'response_days > 0')
        batch_op.create_check_constraint(op.f('ck_categories_resolve_days_positive'), 'resolve_days > 0')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_lead', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('is_lead', server_default=None)

    for table in ('stat_figures', 'stat_trend_points'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ('open', 'awaiting_info', 'urge_count'):
                batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ('open', 'awaiting_info', 'urge_count'):
                batch_op.alter_column(name, server_default=None)

    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=16), type_=sa.String(length=32))

    # Their server defaults stay: rows written in bulk by SQL (the benchmark's data) need not name them.
    counters = ('extension_days', 'paused_seconds', 'info_reminders', 'urge_count')
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
        for name in counters:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('paused_from', sa.String(length=16), nullable=True))
        for name in ('paused_at', 'extension_requested_at', 'last_urged_at', 'withdrawn_at'):
            batch_op.add_column(sa.Column(name, service_app.common.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('extension_request_days', sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f('ck_problems_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_problems_status_valid'), NEW_STATUSES)


def downgrade():
    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=32), type_=sa.String(length=16))
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_problems_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_problems_status_valid'), OLD_STATUSES)
        for name in (
            'deadline_provisional', 'extension_days', 'paused_seconds', 'info_reminders', 'urge_count', 'paused_from',
            'paused_at', 'extension_requested_at', 'last_urged_at', 'withdrawn_at', 'extension_request_days',
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('is_lead')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_hours', sa.Integer(), nullable=False, server_default='120'))
    op.execute("UPDATE categories SET sla_hours = resolve_days * 24")
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.alter_column('sla_hours', server_default=None)
        batch_op.drop_constraint(op.f('ck_categories_response_days_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_categories_resolve_days_positive'), type_='check')
        batch_op.create_check_constraint(op.f('ck_categories_sla_positive'), 'sla_hours > 0')
    for table in ('stat_figures', 'stat_trend_points'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ('open', 'awaiting_info', 'urge_count'):
                batch_op.drop_column(name)
    op.drop_table('calendar_days')
