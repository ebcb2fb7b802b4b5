"""schools: the class shelf (class sets for 一斉読書 and assigned reading 課題図書)

Revision ID: 0093_classroom
Revises: 0090_schools
"""
import sqlalchemy as sa
from alembic import op

revision = "0093_classroom"
down_revision = "0090_schools"
branch_labels = None
depends_on = ("0002_lending",)


def upgrade() -> None:
    op.create_table(
        "class_shelf_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["school_classes.id"], name=op.f("fk_class_shelf_items_class_id_school_classes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_class_shelf_items_title_id_titles"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["staff_users.id"], name=op.f("fk_class_shelf_items_created_by_staff_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_shelf_items")),
        sa.UniqueConstraint("class_id", "title_id", "kind", name="uq_class_shelf_items_class_title_kind"),
    )
    op.create_index(op.f("ix_class_shelf_items_class_id"), "class_shelf_items", ["class_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_class_shelf_items_class_id"), table_name="class_shelf_items")
    op.drop_table("class_shelf_items")
