"""pool search text: names and readings also without their spaces and marks, readings also as written (issue #15)

Recomputes ``selection_pool_titles.search_text`` from each pool title's stored import record, in
batches, and on PostgreSQL refreshes the pool's word index (``selection_pool_grams``) of those rows.
Data only: the downgrade leaves the longer text in place (it still matches everything it did).

Revision ID: 0150_selsearch
Revises: 0070_selection (and needs 0130_search_pg's selection_pool_grams on PostgreSQL)
"""
import json

import sqlalchemy as sa
from alembic import op

from elibrary.selection.pool import search_text

revision = "0150_selsearch"
down_revision = "0070_selection"
branch_labels = None
depends_on = "0130_search_pg"

BATCH = 1000

# The same SQL the application refreshes the pool's rows with (as in 0130_search_pg).
_REFRESH_GRAMS = sa.text(
    "INSERT INTO selection_pool_grams (pool_title_id, grams) SELECT t.id, "
    "ARRAY(SELECT DISTINCT substr(t.search_text, i, n) FROM generate_series(1, length(t.search_text)) AS i, "
    "(VALUES (1), (2)) AS width(n) WHERE i + n - 1 <= length(t.search_text)) "
    "FROM selection_pool_titles t WHERE t.id BETWEEN :low AND :high "
    "ON CONFLICT (pool_title_id) DO UPDATE SET grams = EXCLUDED.grams"
)

_titles = sa.table("selection_pool_titles", sa.column("id", sa.Integer), sa.column("record", sa.JSON),
                   sa.column("search_text", sa.Text))


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    last = 0
    while True:
        rows = bind.execute(sa.select(_titles.c.id, _titles.c.record).where(_titles.c.id > last)
                            .order_by(_titles.c.id).limit(BATCH)).all()
        if not rows:
            break
        updates = []
        for pool_title_id, record in rows:
            if isinstance(record, str):
                record = json.loads(record)
            updates.append({"key": pool_title_id, "text": search_text(record or {})})
        bind.execute(_titles.update().where(_titles.c.id == sa.bindparam("key")).values(search_text=sa.bindparam("text")), updates)
        if postgresql:
            bind.execute(_REFRESH_GRAMS, {"low": rows[0][0], "high": rows[-1][0]})
        last = rows[-1][0]


def downgrade() -> None:
    pass  # the longer search text still matches everything the shorter one did
