"""lending: licenses.text_search — whether the book's text may be searched and shown as snippets (本文検索)

NULL means the default: on for open licences, off for the others.

Revision ID: 0140_fulltext
Revises: 0010_licence_display
"""
import sqlalchemy as sa
from alembic import op

revision = "0140_fulltext"
down_revision = "0010_licence_display"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_search", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_column("text_search")
