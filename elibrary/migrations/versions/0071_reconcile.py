"""selection: licence checks against a distributor's licence report (電子書籍の蔵書点検)

Revision ID: 0071_reconcile
Revises: 0070_selection
"""
import sqlalchemy as sa
from alembic import op

revision = "0071_reconcile"
down_revision = "0070_selection"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selection_reconciliations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("distributor", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"], name=op.f("fk_selection_reconciliations_staff_id_staff_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_reconciliations")),
    )


def downgrade() -> None:
    op.drop_table("selection_reconciliations")
