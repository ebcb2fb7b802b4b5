"""school sign-in: QR sign-in cards, OpenID Connect providers per school, linked OIDC subjects, pending sign-ins

Revision ID: 0095_school_signin
Revises: 0090_schools
"""
import sqlalchemy as sa
from alembic import op

revision = "0095_school_signin"
down_revision = "0090_schools"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('school_signin_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('link_code_hash', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=80), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_school_signin_cards_patron_id_patrons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_signin_cards')),
    sa.UniqueConstraint('patron_id', name=op.f('uq_school_signin_cards_patron_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_school_signin_cards_token_hash'))
    )
    op.create_table('school_oidc_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_code', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=300), nullable=False),
    sa.Column('client_secret_enc', sa.LargeBinary(), nullable=True),
    sa.Column('hosted_domains', sa.Text(), nullable=False),
    sa.Column('tenant_ids', sa.Text(), nullable=False),
    sa.Column('email_domains', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_oidc_providers')),
    sa.UniqueConstraint('school_code', name=op.f('uq_school_oidc_providers_school_code'))
    )
    op.create_table('school_oidc_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('school_code', sa.String(length=40), nullable=False),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_school_oidc_links_patron_id_patrons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_oidc_links')),
    sa.UniqueConstraint('subject_hash', name='uq_school_oidc_links_subject')
    )
    op.create_index(op.f('ix_school_oidc_links_patron_id'), 'school_oidc_links', ['patron_id'], unique=False)
    op.create_table('school_oidc_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('school_code', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier_enc', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_oidc_pending')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_school_oidc_pending_state_hash'))
    )
    op.create_index(op.f('ix_school_oidc_pending_expires_at'), 'school_oidc_pending', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_school_oidc_pending_expires_at'), table_name='school_oidc_pending')
    op.drop_table('school_oidc_pending')
    op.drop_index(op.f('ix_school_oidc_links_patron_id'), table_name='school_oidc_links')
    op.drop_table('school_oidc_links')
    op.drop_table('school_oidc_providers')
    op.drop_table('school_signin_cards')
