"""lending: licences, loans, holds, patron categories, settings, statistics, job lease

Revision ID: 0002_lending
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_lending"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('lending_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('age_band', sa.String(length=10), nullable=False),
    sa.Column('school', sa.String(length=40), nullable=False),
    sa.Column('loan_hours', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lending_events'))
    )
    op.create_index(op.f('ix_lending_events_occurred_on'), 'lending_events', ['occurred_on'], unique=False)
    op.create_index(op.f('ix_lending_events_title_id'), 'lending_events', ['title_id'], unique=False)
    op.create_index('ix_lending_events_title_kind', 'lending_events', ['title_id', 'kind'], unique=False)
    op.create_table('lending_settings',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lending_settings'))
    )
    op.create_table('patron_categories',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('max_loans', sa.Integer(), nullable=False),
    sa.Column('max_holds', sa.Integer(), nullable=False),
    sa.Column('loan_days', sa.Integer(), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('hold_ready_days', sa.Integer(), nullable=False),
    sa.Column('open_titles_only', sa.Boolean(), nullable=False),
    sa.Column('collections', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_patron_categories'))
    )
    op.create_table('licenses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.Enum('one-copy', 'concurrent', 'metered-loans', 'metered-time', 'open', name='license_model', native_enum=False, length=32),
              nullable=False),
    sa.Column('copies', sa.Integer(), nullable=True),
    sa.Column('loans_total', sa.Integer(), nullable=True),
    sa.Column('loans_remaining', sa.Integer(), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_loan_days', sa.Integer(), nullable=True),
    sa.Column('drm_free_download', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_licenses_title_id_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licenses'))
    )
    op.create_index(op.f('ix_licenses_title_id'), 'licenses', ['title_id'], unique=False)
    op.create_table('reading_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('borrowed_on', sa.Date(), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_reading_history_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_reading_history_title_id_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reading_history'))
    )
    op.create_index(op.f('ix_reading_history_patron_id'), 'reading_history', ['patron_id'], unique=False)
    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('queue_seq', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'ready', 'suspended', name='hold_state', native_enum=False, length=32), nullable=False),
    sa.Column('license_id', sa.Integer(), nullable=True),
    sa.Column('ready_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_holds_license_id_licenses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_holds_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_holds_title_id_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds')),
    sa.UniqueConstraint('patron_id', 'title_id', name='uq_holds_patron_title'),
    sa.UniqueConstraint('title_id', 'queue_seq', name='uq_holds_title_queue_seq')
    )
    op.create_index(op.f('ix_holds_license_id'), 'holds', ['license_id'], unique=False)
    op.create_index(op.f('ix_holds_patron_id'), 'holds', ['patron_id'], unique=False)
    op.create_index(op.f('ix_holds_ready_until'), 'holds', ['ready_until'], unique=False)
    op.create_index(op.f('ix_holds_state'), 'holds', ['state'], unique=False)
    op.create_index(op.f('ix_holds_suspended_until'), 'holds', ['suspended_until'], unique=False)
    op.create_index(op.f('ix_holds_title_id'), 'holds', ['title_id'], unique=False)
    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('license_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('due_notice_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_loans_license_id_licenses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_loans_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_loans_title_id_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
    sa.UniqueConstraint('patron_id', 'title_id', name='uq_loans_patron_title')
    )
    op.create_index(op.f('ix_loans_due_at'), 'loans', ['due_at'], unique=False)
    op.create_index(op.f('ix_loans_license_id'), 'loans', ['license_id'], unique=False)
    op.create_index(op.f('ix_loans_patron_id'), 'loans', ['patron_id'], unique=False)
    op.create_index(op.f('ix_loans_title_id'), 'loans', ['title_id'], unique=False)


def downgrade() -> None:
    op.drop_table('loans')
    op.drop_table('holds')
    op.drop_table('reading_history')
    op.drop_table('licenses')
    op.drop_table('patron_categories')
    op.drop_table('lending_settings')
    op.drop_table('lending_events')
    op.drop_table('job_leases')
