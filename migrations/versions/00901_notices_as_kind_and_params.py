"""notices as kind and parameters; where notifying jobs stand

A notice was stored with its Chinese title and body; it is now its kind and parameters, rendered in
the reader's language when read (service_app/notifications/messages.py). Existing rows are
converted: the problem's title is taken from the stored title ("<what>：<problem title>"), a visit
reminder's count from its enterprise ids, and the filing notice's kind `assigned` becomes
`submitted` (`assigned` now means a lead assigned the problem to someone). `job_watermarks` and
`problem_marks` let the notifying jobs tell only what changed since their previous run.

Revision ID: 00901
Revises: 00701
Create Date: 2026-12-01 15:40:00

"""
import json

import sqlalchemy as sa
from alembic import op

import service_app.common.types

# revision identifiers, used by Alembic.
revision = '00901'
down_revision = '00701'
branch_labels = None
depends_on = None

_notices = sa.table(
    'notifications',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('title', sa.String),
    sa.column('body', sa.Text),
    sa.column('data', sa.JSON),
    sa.column('params', sa.JSON),
)


def _params(kind: str, title: str, data) -> dict:
    data = json.loads(data) if isinstance(data, str) else dict(data or {})
    data.pop('status', None)
    if kind == 'visit_reminder':
        data['count'] = len(data.get('enterprise_ids') or [])
    else:
        data['title'] = title.split('：', 1)[-1]
    return data


def _title(kind: str, params) -> str:
    params = json.loads(params) if isinstance(params, str) else dict(params or {})
    if kind == 'visit_reminder':
        return '走访提醒'
    return f"{kind}：{params.get('title', '')}"


def upgrade():
    op.create_table('job_watermarks',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('as_of', service_app.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_watermarks'))
    )
    op.create_table('problem_marks',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('due_at', service_app.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['problem_id'], ['problems.id'], name=op.f('fk_problem_marks_problem_id_problems'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('kind', 'problem_id', name=op.f('pk_problem_marks'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_notices.c.id, _notices.c.kind, _notices.c.title, _notices.c.data)).all()
    for notice_id, kind, title, data in rows:
        connection.execute(
            _notices.update().where(_notices.c.id == notice_id).values(
                kind='submitted' if kind == 'assigned' else kind, params=_params(kind, title, data)
            )
        )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('params', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('data')
        batch_op.drop_column('body')
        batch_op.drop_column('title')


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('data', sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_notices.c.id, _notices.c.kind, _notices.c.params)).all()
    for notice_id, kind, params in rows:
        connection.execute(
            _notices.update().where(_notices.c.id == notice_id).values(
                kind='assigned' if kind == 'submitted' else kind, title=_title(kind, params), data=params
            )
        )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('title', existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column('params')

    op.drop_table('problem_marks')
    op.drop_table('job_watermarks')
