"""notify: outbox_messages.batch_key — the rows sent together in one multicast, kept together on retry

Revision ID: 0009_outbox_batch
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_outbox_batch"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_key", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("batch_key")
