"""line: staff announcements (お知らせ) for the home page and LINE

Revision ID: 0081_line_announcements
Revises: 0080_line
"""
import sqlalchemy as sa
from alembic import op

revision = "0081_line_announcements"
down_revision = "0080_line"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("audience_value", sa.String(length=80), nullable=False),
        sa.Column("show_on_site", sa.Boolean(), nullable=False),
        sa.Column("send_line", sa.Boolean(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    for column in ("starts_at", "ends_at", "status"):
        op.create_index(op.f(f"ix_announcements_{column}"), "announcements", [column], unique=False)


def downgrade() -> None:
    op.drop_table("announcements")
