"""ops: the record of scheduled backups and restore drills; e-book stocktakes (licence reports)

Revision ID: 0110_ops
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0110_ops"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("new_files", sa.Integer(), nullable=False),
        sa.Column("new_bytes", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_runs")),
    )
    op.create_index(op.f("ix_backup_runs_kind"), "backup_runs", ["kind"], unique=False)
    op.create_index(op.f("ix_backup_runs_started_at"), "backup_runs", ["started_at"], unique=False)
    op.create_table(
        "license_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("fixes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_audits")),
    )


def downgrade() -> None:
    op.drop_table("license_audits")
    op.drop_index(op.f("ix_backup_runs_started_at"), table_name="backup_runs")
    op.drop_index(op.f("ix_backup_runs_kind"), table_name="backup_runs")
    op.drop_table("backup_runs")
