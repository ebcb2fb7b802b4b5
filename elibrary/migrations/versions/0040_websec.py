"""web security: revocable sessions (web_sessions) and the throttle's lock count and last success

Revision ID: 0040_websec
Revises: 0004_patrons
"""
import sqlalchemy as sa
from alembic import op

revision = "0040_websec"
down_revision = "0004_patrons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(op.f("ix_web_sessions_subject"), "web_sessions", ["subject"], unique=False)
    with op.batch_alter_table("signin_throttles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locks", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signin_throttles", schema=None) as batch_op:
        batch_op.drop_column("succeeded_at")
        batch_op.drop_column("locks")
    op.drop_index(op.f("ix_web_sessions_subject"), table_name="web_sessions")
    op.drop_table("web_sessions")
