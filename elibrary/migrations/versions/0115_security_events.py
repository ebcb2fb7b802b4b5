"""security events: sign-ins, lockouts, refusals, imports, backups, maintenance mode (elibrary.security.events)

Revision ID: 0115_security_events
Revises: 0040_websec
"""
import sqlalchemy as sa
from alembic import op

revision = "0115_security_events"
down_revision = "0040_websec"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_kind", sa.String(length=12), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("subject_ref", sa.String(length=24), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
    )
    op.create_index(op.f("ix_security_events_at"), "security_events", ["at"], unique=False)
    op.create_index(op.f("ix_security_events_subject_ref"), "security_events", ["subject_ref"], unique=False)
    op.create_index("ix_security_events_kind_at", "security_events", ["kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_security_events_kind_at", table_name="security_events")
    op.drop_index(op.f("ix_security_events_subject_ref"), table_name="security_events")
    op.drop_index(op.f("ix_security_events_at"), table_name="security_events")
    op.drop_table("security_events")
