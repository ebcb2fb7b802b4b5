"""import: imported_records.source_hash (hash of the source's bytes, for the re-import fast path) and an
index on (source, source_record_id), by which every batch of an import is matched

Revision ID: 0008_import_hash
Revises: 0003_import
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_import_hash"
down_revision = "0003_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: records imported before keep NULL until their next import stores the hash.
    op.add_column("imported_records", sa.Column("source_hash", sa.String(length=32), nullable=True))
    op.create_index("ix_imported_records_source_record", "imported_records", ["source", "source_record_id"])


def downgrade() -> None:
    op.drop_index("ix_imported_records_source_record", table_name="imported_records")
    with op.batch_alter_table("imported_records") as batch:
        batch.drop_column("source_hash")
