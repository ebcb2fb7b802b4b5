"""Imports every model module so ``Base.metadata`` is complete (for Alembic and tests)."""
from catalog_import import models as import_models  # noqa: F401
from elibrary import jobs as job_models  # noqa: F401
from elibrary.announcements import models as announcement_models  # noqa: F401
from elibrary.audit import models as audit_models  # noqa: F401
from elibrary.backup import models as backup_models  # noqa: F401
from elibrary.catalog import models as catalog_models  # noqa: F401
from elibrary.lending import models as lending_models  # noqa: F401
from elibrary.line import models as line_models  # noqa: F401
from elibrary.notify import models as notify_models  # noqa: F401
from elibrary.patrons import models as patron_models  # noqa: F401
from elibrary.schools import models as school_models  # noqa: F401
from elibrary.schools import shelf_models as class_shelf_models  # noqa: F401
from elibrary.schools import signin_models as school_signin_models  # noqa: F401

# Tables only PostgreSQL has (created by migration 0130_search_pg on PostgreSQL alone), outside ``Base.metadata``.
from elibrary.search import postgresql_rows as search_tables  # noqa: E402
from elibrary.security import events as security_event_models  # noqa: F401
from elibrary.security import rate as rate_models  # noqa: F401
from elibrary.security import sessions as session_models  # noqa: F401
from elibrary.security import throttle as throttle_models  # noqa: F401
from elibrary.security import yearkeys as year_key_models  # noqa: F401
from elibrary.selection import grams as pool_gram_tables  # noqa: E402
from elibrary.selection import models as selection_models  # noqa: F401
from elibrary.staff import models as staff_models  # noqa: F401
from elibrary.stats import models as stats_models  # noqa: F401
from elibrary.stocktake import models as stocktake_models  # noqa: F401
from elibrary.usage import models as usage_models  # noqa: F401
from readers import models as reader_models  # noqa: F401

POSTGRESQL_ONLY = (search_tables.metadata, pool_gram_tables.metadata)
