"""calendar revision: a token every write to calendar_days changes

Filing counts deadlines on the working-day calendar. Instead of reading the calendar's rows at every
filing, a process keeps the calendar it read under the token of `calendar_revisions` and reads the
token with the filing's first statement; triggers give the token a new random value at every
insert, update or delete on `calendar_days`, in the writing transaction.

Revision ID: 02401
Revises: 01101
Create Date: 2026-12-01 19:05:00

"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = '02401'
down_revision = '01101'
branch_labels = None
depends_on = None

_SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade():
    op.create_table(
        'calendar_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_revisions')),
    )
    # Random from the start too: a database made again under the same URL gets another token.
    op.execute(f"INSERT INTO calendar_revisions (id, token) VALUES (1, '{uuid.uuid4().hex}')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION bump_calendar_revision() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE calendar_revisions SET token = md5(random()::text || clock_timestamp()::text);
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER calendar_days_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_days "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_calendar_revision()"
        )
    else:
        for event in _SQLITE_EVENTS:
            op.execute(
                f"CREATE TRIGGER calendar_days_revision_{event.lower()} AFTER {event} ON calendar_days "
                "BEGIN UPDATE calendar_revisions SET token = lower(hex(randomblob(16))); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER calendar_days_revision ON calendar_days")
        op.execute("DROP FUNCTION bump_calendar_revision()")
    else:
        for event in _SQLITE_EVENTS:
            op.execute(f"DROP TRIGGER calendar_days_revision_{event.lower()}")
    op.drop_table('calendar_revisions')
