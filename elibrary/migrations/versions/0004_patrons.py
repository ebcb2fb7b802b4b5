"""patrons: sign-in throttle, staff TOTP replay guard, provisional registrations, access log

Revision ID: 0004_patrons
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_patrons"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_signin_throttles_key")),
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_patrons_email_hash"), ["email_hash"], unique=False)
    op.create_table(
        "patron_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("kana_enc", sa.LargeBinary(), nullable=True),
        sa.Column("birth_date_enc", sa.LargeBinary(), nullable=True),
        sa.Column("postal_code_enc", sa.LargeBinary(), nullable=True),
        sa.Column("address_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("identity_hash", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patron_id"], ["patrons.id"], name=op.f("fk_patron_registrations_patron_id_patrons"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patron_registrations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_patron_registrations_token_hash")),
    )
    with op.batch_alter_table("patron_registrations", schema=None) as batch_op:
        for column in ("email_hash", "expires_at", "identity_hash", "patron_id", "status"):
            batch_op.create_index(batch_op.f(f"ix_patron_registrations_{column}"), [column], unique=False)
    op.create_table(
        "audit_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("staff_email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_access_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_access_log_entry_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_access_log_prev_hash")),
    )
    with op.batch_alter_table("audit_access_log", schema=None) as batch_op:
        for column in ("at", "patron_id", "staff_email", "staff_id"):
            batch_op.create_index(batch_op.f(f"ix_audit_access_log_{column}"), [column], unique=False)
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The access log refuses UPDATE and DELETE in the database itself, not only in our code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_access_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_access_log_append_only BEFORE UPDATE OR DELETE ON audit_access_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_access_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_access_log_no_{event.lower()} BEFORE {event} ON audit_access_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_access_log is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("audit_access_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_access_log_append_only()")
    op.drop_table("patron_registrations")
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrons_email_hash"))
        batch_op.drop_column("email_hash")
        batch_op.drop_column("email_enc")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
    op.drop_table("signin_throttles")
