"""import: imported_records.source_hash (hash of the source's bytes, for the re-import fast path)

Revision ID: 0008_import_hash
Revises: 0003_import
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_import_hash"
down_revision = "0003_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: records imported before keep NULL until their next import stores the hash.
    op.add_column("imported_records", sa.Column("source_hash", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imported_records") as batch:
        batch.drop_column("source_hash")
