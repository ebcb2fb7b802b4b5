"""search on PostgreSQL: analysed tokens per title with a GIN index (ELIBRARY_SEARCH=postgresql)

Created on PostgreSQL only (text[] and GIN are PostgreSQL's); no extension is needed. The rows are
filled by ``elibrary search reindex`` (or the first indexing pass of a server using the backend) and
then kept by the application in the same transaction as each title.

Revision ID: 0130_search_pg
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0130_search_pg"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "search_documents",
        sa.Column("title_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tokens", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("audience", sa.Text(), server_default="", nullable=False),
        sa.Column("format", sa.Text(), server_default="", nullable=False),
        sa.Column("language", sa.Text(), server_default="", nullable=False),
        sa.Column("ndc1", sa.Text(), server_default="", nullable=False),
        sa.Column("available", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("newest", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reading", sa.Text(collation="C"), server_default="", nullable=False),
        sa.Column("phrases", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("title_id", name="pk_search_documents"),
        postgresql_with={"fillfactor": "70"},  # room for HOT updates when only availability changes
    )
    # fastupdate off: a title's row is searchable through the index at once, not after a pending-list merge.
    op.execute("CREATE INDEX ix_search_documents_tokens ON search_documents USING gin (tokens) WITH (fastupdate = off)")
    op.create_table("search_terms", sa.Column("term", sa.Text(collation="C"), nullable=False),
                    sa.PrimaryKeyConstraint("term", name="pk_search_terms"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("search_terms")
    op.drop_table("search_documents")
