"""search on PostgreSQL: analysed tokens per title with a GIN index (ELIBRARY_SEARCH=postgresql)

Created on PostgreSQL only (text[] and GIN are PostgreSQL's); no extension is needed. The rows are
filled by ``elibrary search reindex`` (or the first indexing pass of a server using the backend) and
then kept by the application in the same transaction as each title.

The pool of selection (選書) gets the same kind of index: the characters and character pairs of each
pool title's search text (``selection_pool_grams``), filled here from the titles already imported.

Revision ID: 0130_search_pg
Revises: 0001_foundation (and needs 0070_selection's pool tables)
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The same SQL the application refreshes the pool's rows with (a migration keeps its own copy: the code may change later).
GRAMS_OF_SEARCH_TEXT = (
    "ARRAY(SELECT DISTINCT substr(t.search_text, i, n) FROM generate_series(1, length(t.search_text)) AS i, "
    "(VALUES (1), (2)) AS width(n) WHERE i + n - 1 <= length(t.search_text))"
)

revision = "0130_search_pg"
down_revision = "0001_foundation"
branch_labels = None
depends_on = "0070_selection"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "search_documents",
        sa.Column("title_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tokens", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("rank_tokens", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
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
    op.create_index("ix_search_documents_newest", "search_documents", ["newest", "title_id"])
    op.create_index("ix_search_documents_reading", "search_documents", ["reading", "title_id"])
    op.create_table("search_terms", sa.Column("term", sa.Text(collation="C"), nullable=False),
                    sa.PrimaryKeyConstraint("term", name="pk_search_terms"))
    op.create_table(
        "selection_pool_grams",
        sa.Column("pool_title_id", sa.Integer(), nullable=False),
        sa.Column("grams", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["pool_title_id"], ["selection_pool_titles.id"], name="fk_selection_pool_grams_pool_title_id_selection_pool_titles",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pool_title_id", name="pk_selection_pool_grams"),
    )
    op.execute(f"INSERT INTO selection_pool_grams (pool_title_id, grams) SELECT t.id, {GRAMS_OF_SEARCH_TEXT} FROM selection_pool_titles AS t")
    op.execute("CREATE INDEX ix_selection_pool_grams ON selection_pool_grams USING gin (grams)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("selection_pool_grams")
    op.drop_table("search_terms")
    op.drop_table("search_documents")
