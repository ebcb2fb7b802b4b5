"""lending: licenses.classroom_display — whether the licence allows showing the book on a classroom screen (提示)

Revision ID: 0010_licence_display
Revises: 0002_lending
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_licence_display"
down_revision = "0002_lending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("classroom_display", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_column("classroom_display")
