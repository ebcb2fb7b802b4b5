"""Imports every model module so ``Base.metadata`` is complete (for Alembic and tests)."""
from catalog_import import models as import_models  # noqa: F401
from elibrary import jobs as job_models  # noqa: F401
from elibrary.announcements import models as announcement_models  # noqa: F401
from elibrary.audit import models as audit_models  # noqa: F401
from elibrary.catalog import models as catalog_models  # noqa: F401
from elibrary.lending import models as lending_models  # noqa: F401
from elibrary.line import models as line_models  # noqa: F401
from elibrary.notify import models as notify_models  # noqa: F401
from elibrary.patrons import models as patron_models  # noqa: F401
from elibrary.security import sessions as session_models  # noqa: F401
from elibrary.security import throttle as throttle_models  # noqa: F401
from elibrary.security import yearkeys as year_key_models  # noqa: F401
from elibrary.selection import models as selection_models  # noqa: F401
from elibrary.staff import models as staff_models  # noqa: F401
from elibrary.stats import models as stats_models  # noqa: F401
from elibrary.usage import models as usage_models  # noqa: F401
from readers import models as reader_models  # noqa: F401
