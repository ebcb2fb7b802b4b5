"""import: imported_records (fingerprint of each imported record, cover URL, supply data)

Revision ID: 0003_import
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_import"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imported_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('source_record_id', sa.String(length=200), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('cover_url', sa.String(length=1000), nullable=False),
    sa.Column('supply', sa.JSON(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_imported_records_title_id_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_records')),
    sa.UniqueConstraint('title_id', 'source', name='uq_imported_records_title_source')
    )
    op.create_index(op.f('ix_imported_records_title_id'), 'imported_records', ['title_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_imported_records_title_id'), table_name='imported_records')
    op.drop_table('imported_records')
