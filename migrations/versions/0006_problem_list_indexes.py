"""problem list indexes

The scale benchmark of GET /problems (bench/list_scale.py) found pages whose cost grew with the
number of problems: a cadre's (handler_id had no index for its OR), `overdue=true` and
`supervised=true` (closed problems skipped one by one, newest first), a department's (every
problem ever dispatched to it hashed). The two partial indexes hold only open, respectively
supervised, problems; SQLite supports the same predicates. The CHECK states what the workflow
already guarantees (only a dispatch row names a department), which the department scope relies
on; autogenerate does not detect CHECK constraints, so it is added by hand.

Safe on a live PostgreSQL: the indexes are built CONCURRENTLY (outside the migration's
transaction) and the CHECK is added NOT VALID, then validated, so writers are never held up.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 18:29:08.625254

"""
import sqlalchemy as sa
from alembic import op

from service_app.common import online_ddl

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


OPEN = sa.text("status IN ('submitted', 'accepted', 'dispatched', 'in_progress')")
# (name, columns, partial-index predicate); built CONCURRENTLY on PostgreSQL (service_app/common/online_ddl.py).
INDEXES = (
    ('ix_problems_handler_id_id', ['handler_id', 'id'], None),
    ('ix_problems_open_id_due_at', ['id', 'due_at'], OPEN),
    ('ix_problems_supervised_id', ['id'], sa.text('supervised')),
)
CHECK = 'ck_problem_events_department_only_on_dispatch'


def upgrade():
    for name, columns, where in INDEXES:
        online_ddl.create_index(name, 'problems', columns, where=where)
    online_ddl.create_check_constraint(op.f(CHECK), 'problem_events', "department_id IS NULL OR action = 'dispatch'")


def downgrade():
    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_='check')
    for name, _columns, _where in reversed(INDEXES):
        online_ddl.drop_index(name, 'problems')
