"""line: LINE links, spent ID tokens, account-link nonces, notice preferences, paper-book notices, webhook events

Revision ID: 0080_line
Revises: 0004_patrons
"""
import sqlalchemy as sa
from alembic import op

revision = "0080_line"
down_revision = "0004_patrons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "line_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("line_user_hash", sa.String(length=64), nullable=False),
        sa.Column("line_user_enc", sa.LargeBinary(), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paper_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patron_id"], ["patrons.id"], name=op.f("fk_line_links_patron_id_patrons"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_links")),
        sa.UniqueConstraint("line_user_hash", name=op.f("uq_line_links_line_user_hash")),
        sa.UniqueConstraint("patron_id", name=op.f("uq_line_links_patron_id")),
    )
    op.create_index(op.f("ix_line_links_paper_polled_at"), "line_links", ["paper_polled_at"], unique=False)
    op.create_table(
        "line_paper_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_hash", sa.String(length=64), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patron_id"], ["patrons.id"], name=op.f("fk_line_paper_notices_patron_id_patrons"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_paper_notices")),
        sa.UniqueConstraint("patron_id", "kind", "item_hash", name=op.f("uq_line_paper_notices_patron_id")),
    )
    op.create_index(op.f("ix_line_paper_notices_patron_id"), "line_paper_notices", ["patron_id"], unique=False)
    op.create_table(
        "line_used_id_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("line_user_enc", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_used_id_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_line_used_id_tokens_token_hash")),
    )
    op.create_index(op.f("ix_line_used_id_tokens_expires_at"), "line_used_id_tokens", ["expires_at"], unique=False)
    op.create_table(
        "line_account_link_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_line_account_link_nonces_patron_id_patrons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_account_link_nonces")),
        sa.UniqueConstraint("nonce_hash", name=op.f("uq_line_account_link_nonces_nonce_hash")),
    )
    op.create_index(op.f("ix_line_account_link_nonces_patron_id"), "line_account_link_nonces", ["patron_id"], unique=False)
    op.create_table(
        "notice_preferences",
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("include_titles", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["patron_id"], ["patrons.id"], name=op.f("fk_notice_preferences_patron_id_patrons"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patron_id", name=op.f("pk_notice_preferences")),
    )
    op.create_table(
        "line_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_line_webhook_events_event_id")),
    )
    op.create_index(op.f("ix_line_webhook_events_received_at"), "line_webhook_events", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("line_webhook_events")
    op.drop_table("line_paper_notices")
    op.drop_table("notice_preferences")
    op.drop_table("line_account_link_nonces")
    op.drop_table("line_used_id_tokens")
    op.drop_table("line_links")
