"""Audit events: the database refuses to rewrite them (SECURITY.md 27)

Revision ID: 0004
Revises: 0003
"""
from alembic import op

from marketplace.models.audit import POSTGRES_FUNCTION, POSTGRES_TRIGGER, SQLITE_TRIGGER

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only"
               + (" ON audit_events" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
