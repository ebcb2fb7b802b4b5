"""schools: a teacher's staff account linked to their teacher-category patron account (one sign-in, both rights)

Revision ID: 0096_schools2_teacher_link
Revises: 0095_school_signin
"""
import sqlalchemy as sa
from alembic import op

revision = "0096_schools2_teacher_link"
down_revision = "0095_school_signin"
branch_labels = None
depends_on = ("0004_patrons",)


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patron_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_staff_users_patron_id"), ["patron_id"])
        batch_op.create_foreign_key(batch_op.f("fk_staff_users_patron_id_patrons"), "patrons", ["patron_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_staff_users_patron_id_patrons"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_staff_users_patron_id"), type_="unique")
        batch_op.drop_column("patron_id")
