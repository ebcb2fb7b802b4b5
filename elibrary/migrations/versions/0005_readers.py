"""readers: reading positions and bookmarks per patron and title (tied to the loan)

Revision ID: 0005_readers
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_readers"
down_revision = "0001_foundation"
branch_labels = None
depends_on = ("0002_lending",)


def upgrade() -> None:
    op.create_table('reading_positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=1000), nullable=False),
    sa.Column('fraction', sa.Float(), nullable=False),
    sa.Column('bookmarks', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_reading_positions_loan_id_loans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_reading_positions_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_reading_positions_title_id_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reading_positions')),
    sa.UniqueConstraint('patron_id', 'title_id', name='uq_reading_positions_patron_title')
    )
    with op.batch_alter_table('reading_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reading_positions_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reading_positions_patron_id'), ['patron_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reading_positions_title_id'), ['title_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reading_positions')
