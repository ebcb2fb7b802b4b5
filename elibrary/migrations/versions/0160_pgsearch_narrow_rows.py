"""search on PostgreSQL: narrow rows (tokens out of the row), rank_tokens no longer used

Large values leave a ``search_documents`` row until it is under 128 bytes (``toast_tuple_target``):
the tokens and the suggestion phrases, read only through the GIN index and for a few candidates, go
to the table's TOAST, and the sort key ``reading`` stays in the row. Counting the facets of thousands
of matches then reads a few thousand small pages instead of one large page per match. Rows already
written keep their layout until they are written again: ``elibrary search reindex`` rewrites them all.
``rank_tokens`` is no longer written or read (the relevance tiers are conditions the GIN index
answers); it stays so that backups from before restore.

Revision ID: 0160_pgsearch
Revises: 0130_search_pg
"""
from alembic import op

revision = "0160_pgsearch"
down_revision = "0130_search_pg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_documents SET (toast_tuple_target = 128)")
    op.execute("ALTER TABLE search_documents ALTER COLUMN reading SET STORAGE MAIN")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_documents ALTER COLUMN reading SET STORAGE EXTENDED")
    op.execute("ALTER TABLE search_documents RESET (toast_tuple_target)")
