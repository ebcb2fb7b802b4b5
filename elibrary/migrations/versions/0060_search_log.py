"""search: search_queue is a change log every index follows from its own position; an index on
enqueued_at for the recent window each pass looks at again and for pruning old entries

Revision ID: 0060_search_log
Revises: 0001_foundation
"""
from alembic import op

revision = "0060_search_log"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_search_queue_enqueued_at", "search_queue", ["enqueued_at"])


def downgrade() -> None:
    op.drop_index("ix_search_queue_enqueued_at", table_name="search_queue")
