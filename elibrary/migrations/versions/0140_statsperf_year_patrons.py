"""stats: the borrowers of each 年度 by breakdown value (``stats_year_patrons``), so unique borrowers over a 年度 are
counted from one row per borrower and value instead of every event, and each month's unique borrowers by value
(``stats_month_patrons``). The roll-up is cleared so the nightly job builds them for every month again.

Revision ID: 0140_statsperf_year_patrons
Revises: 0100_stats
"""
import sqlalchemy as sa
from alembic import op

revision = "0140_statsperf_year_patrons"
down_revision = "0100_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("stats_year_patrons",
                    sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("kind", sa.String(length=20), nullable=False),
                    sa.Column("dim", sa.String(length=10), nullable=False),
                    sa.Column("value", sa.String(length=40), nullable=False),
                    sa.Column("school", sa.String(length=40), nullable=False),
                    sa.Column("borrower_key", sa.String(length=32), nullable=False),
                    sa.Column("months", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("fiscal_year", "kind", "dim", "value", "school", "borrower_key",
                                            name=op.f("pk_stats_year_patrons")),
                    sqlite_with_rowid=False)
    op.create_table("stats_month_patrons",
                    sa.Column("month", sa.String(length=7), nullable=False),
                    sa.Column("kind", sa.String(length=20), nullable=False),
                    sa.Column("dim", sa.String(length=10), nullable=False),
                    sa.Column("value", sa.String(length=40), nullable=False),
                    sa.Column("pupils", sa.Boolean(), nullable=False),
                    sa.Column("patrons", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("month", "kind", "dim", "value", "pupils", name=op.f("pk_stats_month_patrons")))
    # Months rolled up before this table existed have no rows in it: roll every month up again (the next
    # stats-rollup job does; reports count from the events until then).
    op.execute("DELETE FROM stats_rolled_months")
    op.execute("DELETE FROM stats_month_counts")


def downgrade() -> None:
    op.drop_table("stats_month_patrons")
    op.drop_table("stats_year_patrons")
