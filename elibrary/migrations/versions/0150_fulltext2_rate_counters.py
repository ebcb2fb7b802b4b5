"""security: rate_counters — 本文検索's snippet rate limit, shared by every worker and server

Revision ID: 0150_fulltext2
Revises: 0140_fulltext
"""
import sqlalchemy as sa
from alembic import op

revision = "0150_fulltext2"
down_revision = "0140_fulltext"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_number", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("previous_uses", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_counters")),
        sa.UniqueConstraint("key", name=op.f("uq_rate_counters_key")),
    )
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_counters_window_number"), ["window_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_counters_window_number"))
    op.drop_table("rate_counters")
