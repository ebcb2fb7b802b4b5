"""schools: schools, school years (年度), classes, members (school accounts) with per-year enrolments, roll-overs

Revision ID: 0090_schools
Revises: 0004_patrons
"""
import sqlalchemy as sa
from alembic import op

revision = "0090_schools"
down_revision = "0004_patrons"
branch_labels = None
depends_on = ("0002_lending",)


def upgrade() -> None:
    op.create_table('school_rollovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_year', sa.Integer(), nullable=False),
    sa.Column('to_year', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by', sa.String(length=254), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('undo', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_rollovers'))
    )
    op.create_index(op.f('ix_school_rollovers_to_year'), 'school_rollovers', ['to_year'], unique=False)
    op.create_table('school_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_years')),
    sa.UniqueConstraint('sourced_id', name=op.f('uq_school_years_sourced_id')),
    sa.UniqueConstraint('year', name=op.f('uq_school_years_year'))
    )
    op.create_table('schools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=True),
    sa.Column('furigana_max_grade', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schools')),
    sa.UniqueConstraint('code', name=op.f('uq_schools_code')),
    sa.UniqueConstraint('sourced_id', name=op.f('uq_schools_sourced_id'))
    )
    op.create_table('school_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_classes_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['year_id'], ['school_years.id'], name=op.f('fk_school_classes_year_id_school_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_classes')),
    sa.UniqueConstraint('school_id', 'year_id', 'grade', 'name', name='uq_school_classes_grade_name'),
    sa.UniqueConstraint('sourced_id', name=op.f('uq_school_classes_sourced_id'))
    )
    op.create_index(op.f('ix_school_classes_school_id'), 'school_classes', ['school_id'], unique=False)
    op.create_index(op.f('ix_school_classes_year_id'), 'school_classes', ['year_id'], unique=False)
    op.create_table('school_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('login_id', sa.String(length=40), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=True),
    sa.Column('kana_enc', sa.LargeBinary(), nullable=True),
    sa.Column('birth_date_enc', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('signin_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_school_members_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_members_school_id_schools'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_members')),
    sa.UniqueConstraint('login_id', name=op.f('uq_school_members_login_id')),
    sa.UniqueConstraint('patron_id', name=op.f('uq_school_members_patron_id')),
    sa.UniqueConstraint('sourced_id', name=op.f('uq_school_members_sourced_id'))
    )
    op.create_index(op.f('ix_school_members_school_id'), 'school_members', ['school_id'], unique=False)
    op.create_index(op.f('ix_school_members_status'), 'school_members', ['status'], unique=False)
    op.create_table('school_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('sourced_id', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['school_classes.id'], name=op.f('fk_school_enrolments_class_id_school_classes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['school_members.id'], name=op.f('fk_school_enrolments_member_id_school_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_enrolments_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['year_id'], ['school_years.id'], name=op.f('fk_school_enrolments_year_id_school_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_enrolments')),
    sa.UniqueConstraint('member_id', 'year_id', name='uq_school_enrolments_member_year'),
    sa.UniqueConstraint('sourced_id', name=op.f('uq_school_enrolments_sourced_id'))
    )
    op.create_index(op.f('ix_school_enrolments_class_id'), 'school_enrolments', ['class_id'], unique=False)
    op.create_index(op.f('ix_school_enrolments_member_id'), 'school_enrolments', ['member_id'], unique=False)
    op.create_index(op.f('ix_school_enrolments_school_id'), 'school_enrolments', ['school_id'], unique=False)
    op.create_index(op.f('ix_school_enrolments_year_id'), 'school_enrolments', ['year_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_school_enrolments_year_id'), table_name='school_enrolments')
    op.drop_index(op.f('ix_school_enrolments_school_id'), table_name='school_enrolments')
    op.drop_index(op.f('ix_school_enrolments_member_id'), table_name='school_enrolments')
    op.drop_index(op.f('ix_school_enrolments_class_id'), table_name='school_enrolments')
    op.drop_table('school_enrolments')
    op.drop_index(op.f('ix_school_members_status'), table_name='school_members')
    op.drop_index(op.f('ix_school_members_school_id'), table_name='school_members')
    op.drop_table('school_members')
    op.drop_index(op.f('ix_school_classes_year_id'), table_name='school_classes')
    op.drop_index(op.f('ix_school_classes_school_id'), table_name='school_classes')
    op.drop_table('school_classes')
    op.drop_table('schools')
    op.drop_table('school_years')
    op.drop_index(op.f('ix_school_rollovers_to_year'), table_name='school_rollovers')
    op.drop_table('school_rollovers')
