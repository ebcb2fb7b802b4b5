"""stats: lending events learn the patron's age, school, grade and a per-年度 borrower key, the licence, channel,
time of day and the title's NDC, audience and format; patrons keep an encrypted date of birth; per-年度 keys;
aggregate use tables (title views, visits, the search query log); statistics settings and registrations

Revision ID: 0100_stats
Revises: 0002_lending
"""
import sqlalchemy as sa
from alembic import op

revision = "0100_stats"
down_revision = "0002_lending"
branch_labels = None
depends_on = ("0004_patrons",)

def _event_columns():
    return (
    sa.Column("age", sa.SmallInteger(), nullable=True),
    sa.Column("grade", sa.String(length=10), nullable=False, server_default=""),
    sa.Column("license_id", sa.Integer(), nullable=True),
    sa.Column("license_model", sa.String(length=20), nullable=False, server_default=""),
    sa.Column("channel", sa.String(length=10), nullable=False, server_default=""),
    sa.Column("borrower_key", sa.String(length=32), nullable=True),
    sa.Column("hour", sa.SmallInteger(), nullable=True),
    sa.Column("weekday", sa.SmallInteger(), nullable=True),
    sa.Column("from_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("ndc", sa.String(length=3), nullable=False, server_default=""),
    sa.Column("audience", sa.String(length=10), nullable=False, server_default=""),
    sa.Column("format", sa.String(length=30), nullable=False, server_default=""),
    )


def upgrade() -> None:
    with op.batch_alter_table("lending_events") as batch:
        for column in _event_columns():
            batch.add_column(column)
    op.create_index("ix_lending_events_kind_day", "lending_events", ["kind", "occurred_on"], unique=False)
    op.create_index("ix_lending_events_patrons", "lending_events", ["kind", "occurred_on", "borrower_key", "age", "school", "grade"], unique=False)
    with op.batch_alter_table("patrons") as batch:
        batch.add_column(sa.Column("birth_date_enc", sa.LargeBinary(), nullable=True))
    op.create_table('stats_year_keys',
    sa.Column('fiscal_year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('key_enc', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('fiscal_year', name=op.f('pk_stats_year_keys'))
    )
    op.create_table('stats_settings',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_stats_settings'))
    )
    op.create_table('stats_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('age', sa.SmallInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_registrations'))
    )
    op.create_index(op.f('ix_stats_registrations_occurred_on'), 'stats_registrations', ['occurred_on'], unique=False)
    op.create_table('stats_month_counts',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_hold', sa.Boolean(), nullable=False),
    sa.Column('dim', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('patrons', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'kind', 'from_hold', 'dim', 'value', name=op.f('pk_stats_month_counts'))
    )
    op.create_table('stats_rolled_months',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_stats_rolled_months'))
    )
    op.create_table('usage_search_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('query_key', sa.String(length=200), nullable=False),
    sa.Column('shown', sa.String(length=200), nullable=False),
    sa.Column('searches', sa.Integer(), nullable=False),
    sa.Column('zero_hits', sa.Integer(), nullable=False),
    sa.Column('last_hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'query_key', name=op.f('pk_usage_search_days'))
    )
    op.create_table('usage_title_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('title_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'title_id', name=op.f('pk_usage_title_days'))
    )
    op.create_table('usage_visit_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('area', sa.String(length=10), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'area', name=op.f('pk_usage_visit_days'))
    )
    op.create_table('usage_visits_seen',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('area', sa.String(length=10), nullable=False),
    sa.Column('visitor', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('day', 'area', 'visitor', name=op.f('pk_usage_visits_seen'))
    )
    op.create_table('usage_day_salts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_usage_day_salts'))
    )


def downgrade() -> None:
    for table in ("usage_day_salts", "usage_visits_seen", "usage_visit_days", "usage_title_days", "usage_search_days"):
        op.drop_table(table)
    op.drop_table('stats_rolled_months')
    op.drop_table('stats_month_counts')
    op.drop_index(op.f('ix_stats_registrations_occurred_on'), table_name='stats_registrations')
    op.drop_table('stats_registrations')
    op.drop_table('stats_settings')
    op.drop_table('stats_year_keys')
    with op.batch_alter_table("patrons") as batch:
        batch.drop_column("birth_date_enc")
    op.drop_index("ix_lending_events_patrons", table_name="lending_events")
    op.drop_index("ix_lending_events_kind_day", table_name="lending_events")
    with op.batch_alter_table("lending_events") as batch:
        for column in reversed(_event_columns()):
            batch.drop_column(column.name)
