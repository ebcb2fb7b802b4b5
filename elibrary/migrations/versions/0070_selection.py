"""selection: the candidate pool (offers), selection lists and comments, funds by 年度 with money movements,
orders and their lines, and what each received licence cost

Revision ID: 0070_selection
Revises: 0002_lending
"""
import sqlalchemy as sa
from alembic import op

revision = "0070_selection"
down_revision = "0002_lending"  # needs licenses (lending) besides titles and staff_users (foundation)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('selection_funds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_funds')),
    sa.UniqueConstraint('fiscal_year', 'name', name='uq_selection_fund_name')
    )
    op.create_index(op.f('ix_selection_funds_fiscal_year'), 'selection_funds', ['fiscal_year'], unique=False)
    op.create_table('selection_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], name=op.f('fk_selection_lists_created_by_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_lists'))
    )
    op.create_table('selection_pool_titles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=220), nullable=False),
    sa.Column('isbn', sa.String(length=13), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('title_reading', sa.String(length=500), nullable=False),
    sa.Column('authors', sa.String(length=500), nullable=False),
    sa.Column('author_reading', sa.String(length=500), nullable=False),
    sa.Column('publisher', sa.String(length=300), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('ndc', sa.String(length=20), nullable=False),
    sa.Column('ndc_class', sa.String(length=1), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('work_key', sa.String(length=300), nullable=False),
    sa.Column('related_isbns', sa.JSON(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('owned_title_id', sa.Integer(), nullable=True),
    sa.Column('owned_reason', sa.String(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owned_title_id'], ['titles.id'], name=op.f('fk_selection_pool_titles_owned_title_id_titles'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_pool_titles')),
    sa.UniqueConstraint('record_key', name=op.f('uq_selection_pool_titles_record_key'))
    )
    op.create_index('ix_selection_pool_search', 'selection_pool_titles', ['search_text', 'ndc_class', 'audience', 'owned_title_id', 'published_on'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_audience'), 'selection_pool_titles', ['audience'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_isbn'), 'selection_pool_titles', ['isbn'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_ndc_class'), 'selection_pool_titles', ['ndc_class'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_owned_title_id'), 'selection_pool_titles', ['owned_title_id'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_published_on'), 'selection_pool_titles', ['published_on'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_publisher'), 'selection_pool_titles', ['publisher'], unique=False)
    op.create_index(op.f('ix_selection_pool_titles_work_key'), 'selection_pool_titles', ['work_key'], unique=False)
    op.create_table('selection_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=True),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('distributor', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Enum('ordered', 'received', 'cancelled', name='selection_order_state', native_enum=False, length=20), nullable=False),
    sa.Column('tax_rounding', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], name=op.f('fk_selection_orders_created_by_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['fund_id'], ['selection_funds.id'], name=op.f('fk_selection_orders_fund_id_selection_funds')),
    sa.ForeignKeyConstraint(['list_id'], ['selection_lists.id'], name=op.f('fk_selection_orders_list_id_selection_lists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_selection_orders_number'))
    )
    op.create_index(op.f('ix_selection_orders_fund_id'), 'selection_orders', ['fund_id'], unique=False)
    op.create_table('selection_pool_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_title_id', sa.Integer(), nullable=False),
    sa.Column('distributor', sa.String(length=200), nullable=False),
    sa.Column('offer_code', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=20), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=True),
    sa.Column('loans', sa.Integer(), nullable=True),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.Column('price', sa.Integer(), nullable=True),
    sa.Column('tax_rate', sa.Integer(), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pool_title_id'], ['selection_pool_titles.id'], name=op.f('fk_selection_pool_offers_pool_title_id_selection_pool_titles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_pool_offers')),
    sa.UniqueConstraint('pool_title_id', 'distributor', 'offer_code', name='uq_selection_offer')
    )
    op.create_index('ix_selection_offers_facet', 'selection_pool_offers', ['model', 'withdrawn', 'pool_title_id'], unique=False)
    op.create_index(op.f('ix_selection_pool_offers_model'), 'selection_pool_offers', ['model'], unique=False)
    op.create_index(op.f('ix_selection_pool_offers_pool_title_id'), 'selection_pool_offers', ['pool_title_id'], unique=False)
    op.create_index(op.f('ix_selection_pool_offers_price'), 'selection_pool_offers', ['price'], unique=False)
    op.create_table('selection_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('request_key', sa.String(length=300), nullable=False),
    sa.Column('isbn', sa.String(length=13), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('pool_title_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_selection_requests_patron_id_patrons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pool_title_id'], ['selection_pool_titles.id'], name=op.f('fk_selection_requests_pool_title_id_selection_pool_titles'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_requests')),
    sa.UniqueConstraint('patron_id', 'request_key', name='uq_selection_request_patron')
    )
    op.create_index(op.f('ix_selection_requests_patron_id'), 'selection_requests', ['patron_id'], unique=False)
    op.create_index(op.f('ix_selection_requests_pool_title_id'), 'selection_requests', ['pool_title_id'], unique=False)
    op.create_index(op.f('ix_selection_requests_request_key'), 'selection_requests', ['request_key'], unique=False)
    op.create_table('selection_fund_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('allocation', 'committed', 'spent', name='selection_money_kind', native_enum=False, length=20), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['selection_funds.id'], name=op.f('fk_selection_fund_movements_fund_id_selection_funds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['selection_orders.id'], name=op.f('fk_selection_fund_movements_order_id_selection_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_selection_fund_movements_staff_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_fund_movements'))
    )
    op.create_index(op.f('ix_selection_fund_movements_fund_id'), 'selection_fund_movements', ['fund_id'], unique=False)
    op.create_index(op.f('ix_selection_fund_movements_order_id'), 'selection_fund_movements', ['order_id'], unique=False)
    op.create_table('selection_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('decision', sa.Enum('undecided', 'adopted', 'held', 'rejected', 'ordered', name='selection_decision', native_enum=False, length=20), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['staff_users.id'], name=op.f('fk_selection_lines_added_by_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['fund_id'], ['selection_funds.id'], name=op.f('fk_selection_lines_fund_id_selection_funds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['selection_lists.id'], name=op.f('fk_selection_lines_list_id_selection_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['selection_pool_offers.id'], name=op.f('fk_selection_lines_offer_id_selection_pool_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_lines')),
    sa.UniqueConstraint('list_id', 'offer_id', name='uq_selection_line_offer')
    )
    op.create_index(op.f('ix_selection_lines_fund_id'), 'selection_lines', ['fund_id'], unique=False)
    op.create_index(op.f('ix_selection_lines_list_id'), 'selection_lines', ['list_id'], unique=False)
    op.create_index('ix_selection_lines_offer_decision', 'selection_lines', ['offer_id', 'decision'], unique=False)
    op.create_index(op.f('ix_selection_lines_offer_id'), 'selection_lines', ['offer_id'], unique=False)
    op.create_table('selection_order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=True),
    sa.Column('pool_title_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=600), nullable=False),
    sa.Column('isbn', sa.String(length=13), nullable=True),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Integer(), nullable=False),
    sa.Column('tax_rate', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('ordered', 'received', 'cancelled', name='selection_order_state', native_enum=False, length=20), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=True),
    sa.Column('licensed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['selection_pool_offers.id'], name=op.f('fk_selection_order_lines_offer_id_selection_pool_offers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['selection_orders.id'], name=op.f('fk_selection_order_lines_order_id_selection_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pool_title_id'], ['selection_pool_titles.id'], name=op.f('fk_selection_order_lines_pool_title_id_selection_pool_titles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_selection_order_lines_title_id_titles'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_order_lines'))
    )
    op.create_index(op.f('ix_selection_order_lines_order_id'), 'selection_order_lines', ['order_id'], unique=False)
    op.create_index(op.f('ix_selection_order_lines_title_id'), 'selection_order_lines', ['title_id'], unique=False)
    op.create_table('selection_license_costs',
    sa.Column('license_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.Column('price', sa.Integer(), nullable=False),
    sa.Column('tax', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_selection_license_costs_license_id_licenses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['selection_order_lines.id'], name=op.f('fk_selection_license_costs_order_line_id_selection_order_lines'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('license_id', name=op.f('pk_selection_license_costs'))
    )
    op.create_index(op.f('ix_selection_license_costs_order_line_id'), 'selection_license_costs', ['order_line_id'], unique=False)
    op.create_table('selection_line_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['selection_lines.id'], name=op.f('fk_selection_line_comments_line_id_selection_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_selection_line_comments_staff_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_line_comments'))
    )
    op.create_index(op.f('ix_selection_line_comments_line_id'), 'selection_line_comments', ['line_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_selection_line_comments_line_id'), table_name='selection_line_comments')
    op.drop_table('selection_line_comments')
    op.drop_index(op.f('ix_selection_license_costs_order_line_id'), table_name='selection_license_costs')
    op.drop_table('selection_license_costs')
    op.drop_index(op.f('ix_selection_order_lines_title_id'), table_name='selection_order_lines')
    op.drop_index(op.f('ix_selection_order_lines_order_id'), table_name='selection_order_lines')
    op.drop_table('selection_order_lines')
    op.drop_index(op.f('ix_selection_lines_offer_id'), table_name='selection_lines')
    op.drop_index('ix_selection_lines_offer_decision', table_name='selection_lines')
    op.drop_index(op.f('ix_selection_lines_list_id'), table_name='selection_lines')
    op.drop_index(op.f('ix_selection_lines_fund_id'), table_name='selection_lines')
    op.drop_table('selection_lines')
    op.drop_index(op.f('ix_selection_fund_movements_order_id'), table_name='selection_fund_movements')
    op.drop_index(op.f('ix_selection_fund_movements_fund_id'), table_name='selection_fund_movements')
    op.drop_table('selection_fund_movements')
    op.drop_index(op.f('ix_selection_requests_request_key'), table_name='selection_requests')
    op.drop_index(op.f('ix_selection_requests_pool_title_id'), table_name='selection_requests')
    op.drop_index(op.f('ix_selection_requests_patron_id'), table_name='selection_requests')
    op.drop_table('selection_requests')
    op.drop_index(op.f('ix_selection_pool_offers_price'), table_name='selection_pool_offers')
    op.drop_index(op.f('ix_selection_pool_offers_pool_title_id'), table_name='selection_pool_offers')
    op.drop_index(op.f('ix_selection_pool_offers_model'), table_name='selection_pool_offers')
    op.drop_index('ix_selection_offers_facet', table_name='selection_pool_offers')
    op.drop_table('selection_pool_offers')
    op.drop_index(op.f('ix_selection_orders_fund_id'), table_name='selection_orders')
    op.drop_table('selection_orders')
    op.drop_index(op.f('ix_selection_pool_titles_work_key'), table_name='selection_pool_titles')
    op.drop_index(op.f('ix_selection_pool_titles_publisher'), table_name='selection_pool_titles')
    op.drop_index(op.f('ix_selection_pool_titles_published_on'), table_name='selection_pool_titles')
    op.drop_index(op.f('ix_selection_pool_titles_owned_title_id'), table_name='selection_pool_titles')
    op.drop_index(op.f('ix_selection_pool_titles_ndc_class'), table_name='selection_pool_titles')
    op.drop_index(op.f('ix_selection_pool_titles_isbn'), table_name='selection_pool_titles')
    op.drop_index(op.f('ix_selection_pool_titles_audience'), table_name='selection_pool_titles')
    op.drop_index('ix_selection_pool_search', table_name='selection_pool_titles')
    op.drop_table('selection_pool_titles')
    op.drop_table('selection_lists')
    op.drop_index(op.f('ix_selection_funds_fiscal_year'), table_name='selection_funds')
    op.drop_table('selection_funds')
