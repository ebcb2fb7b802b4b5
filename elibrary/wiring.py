"""The wiring room: the one place where the wings are connected.

``build_runtime(settings)`` builds the database, the backends, the ILS connector in front of the patrons'
own account store, and connects the wings *to that runtime's database only*: the search enricher, the
loan-end hooks, the flush listeners, the after-commit tasks and the scheduled jobs. The web app
(``create_app``), the CLI, the jobs, ``bench/*.py`` and helper processes all get their house from it, so
two runtimes in one process (two databases) share no hook, listener or cache.

The web half of the room is ``register_views(app)`` (every wing's blueprints and template helpers) and
the command half ``register_commands(cli)``. Views' ``init_app`` only register routes and template
helpers; nothing is wired in a module-level list or on SQLAlchemy's global classes.

Adding a scheduled job is one line in ``_declare_jobs`` (see ``elibrary.jobs`` for the rules)::

    jobs.add(Job("statistics", daily_at("03:30"), stats_jobs.nightly, in_web_worker=False, lease_seconds=3600))

``run(runtime, now)`` opens its own transactions and returns one line for the operator. Heavy work
(backups, roster imports, statistics, ILS polling) is declared ``in_web_worker=False``: only
``elibrary jobs run`` (cron or a systemd timer) runs it, never a web worker's scheduler thread.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from elibrary import config, notify, search, storage
from elibrary import ils as ils_connectors
from elibrary.audit import chain as audit_chain
from elibrary.audit import services as audit_services
from elibrary.backup import schedule as backup_schedule
from elibrary.catalog import indexing, text_indexing, transaction_index
from elibrary.db import Database
from elibrary.ils.base import ILSConnector
from elibrary.jobs import Job, JobRegistry, daily_at, every, scheduler_tick
from elibrary.lending import availability, loan_rows, text_search
from elibrary.lending import jobs as lending_jobs
from elibrary.line import paper as line_paper
from elibrary.line.client import line_client_from_settings
from elibrary.maintenance.flag import FlagReader, flag_path
from elibrary.monitoring import alerts as security_alerts
from elibrary.monitoring import gauges as monitoring_gauges
from elibrary.monitoring.ils import CountedConnector
from elibrary.monitoring.metrics import Gauge, GaugeRegistry
from elibrary.notify import outbox
from elibrary.opds.caches import OpdsCaches
from elibrary.patrons.accounts import LocalAccounts
from elibrary.patrons.facts import REGISTERED
from elibrary.registry import load_backend
from elibrary.runtime import Runtime
from elibrary.schools import erasure as school_erasure
from elibrary.schools import facts as school_facts
from elibrary.schools.oidc import school_oidc_client
from elibrary.security import yearkeys
from elibrary.security.crypto import CIPHER_INFO_KEY, DataCipher
from elibrary.security.keys import cipher_from_settings
from elibrary.security.rate import RateLimit
from elibrary.security.throttle import Throttle, ThrottlePolicy
from elibrary.stats import jobs as stats_jobs
from elibrary.stats import recording as stats_recording
from elibrary.usage.counters import UsageCounters
from readers import services as reading_positions

if TYPE_CHECKING:
    import click
    from flask import Flask


def instance_settings(instance_path: str, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The layered settings of an instance folder (defaults, ``config.py``, environment, ``overrides``), keys made or read.

    What ``create_app`` uses; processes without Flask (benchmarks, helpers) use it with ``build_runtime``.
    """
    settings = config.load_settings(instance_path, overrides, os.environ if environ is None else environ)
    config.fill_paths(settings, instance_path)
    config.ensure_keys(settings, instance_path)
    config.check_production(settings)
    return settings


def build_runtime(settings: Mapping[str, Any]) -> Runtime:
    """Build the database and backends named by ``settings`` and connect the wings to them."""
    db = Database(settings["ELIBRARY_DATABASE_URL"])
    cipher = cipher_from_settings(settings)  # the key ring: current, earlier and lookup keys
    search_backend = load_backend("search", search.BACKENDS, settings["ELIBRARY_SEARCH"], settings)
    accounts = LocalAccounts(db, cipher)
    indexer = indexing.SearchIndexer(db.session, search_backend, new_writer=lambda: db.session(write=True), synchronous=bool(settings["ELIBRARY_SEARCH_SYNC"]),
                                     poll_seconds=float(settings.get("ELIBRARY_SEARCH_POLL_SECONDS") or 2.0))
    indexer.enrichers.append(availability.available_map)  # search shows whether a copy is free now
    jobs = _declare_jobs(JobRegistry(), settings)
    line = line_client_from_settings(settings)
    book_storage = load_backend("storage", storage.BACKENDS, settings["ELIBRARY_STORAGE"], settings)
    booktext = load_backend("book-text index", search.BOOKTEXT_BACKENDS, settings.get("ELIBRARY_BOOKTEXT") or "tantivy", settings)
    # the book-text index follows the same change log; which titles' text may be searched is lending's rule
    text_indexer = text_indexing.TextIndexer(lambda: db.session(), booktext, book_storage, text_search.text_searchable,
                                             synchronous=bool(settings["ELIBRARY_SEARCH_SYNC"]),
                                             poll_seconds=float(settings.get("ELIBRARY_SEARCH_POLL_SECONDS") or 2.0))
    runtime = Runtime(
        settings=settings,
        db=db,
        search=search_backend,
        storage=book_storage,
        ils=_ils_connector(settings, db, cipher, accounts),
        accounts=accounts,
        # the LINE notifier pushes through this runtime's LINE client
        notifier=load_backend("notifier", notify.BACKENDS, settings["ELIBRARY_NOTIFIER"], {**settings, "line_client": line}),
        cipher=cipher,
        indexer=indexer,
        opds=OpdsCaches.from_settings(settings),
        jobs=jobs,
        scheduler_tick=0 if settings.get("TESTING") else scheduler_tick(jobs.for_web_worker()),
        audit=audit_chain.AuditChain.from_settings(settings),
        throttle=Throttle(db, ThrottlePolicy.from_settings(settings)),
        line=line,
        gauges=_declare_gauges(GaugeRegistry()),
        maintenance=FlagReader(flag_path(settings)),
        school_oidc=school_oidc_client(settings),
        usage=UsageCounters(db, float(settings.get("ELIBRARY_USAGE_FLUSH_SECONDS") or 60)),
        booktext=booktext,
        text_indexer=text_indexer,
        text_limit=RateLimit.parse(settings.get("ELIBRARY_TEXT_SEARCH_LIMIT") or "30/600", db, cipher.lookup_hash, "text"),
    )
    _connect_database(runtime)
    return runtime


def _ils_connector(settings: Mapping[str, Any], db: Database, cipher: DataCipher, accounts: LocalAccounts) -> ILSConnector:
    """``ELIBRARY_ILS``: "local" is the patrons' account store itself; the others are built from the settings."""
    if settings["ELIBRARY_ILS"] == "local":
        return accounts
    # every call that finds the ILS not answering is counted (/metrics: elibrary_ils_errors_total)
    return CountedConnector(load_backend("ILS", ils_connectors.BACKENDS, settings["ELIBRARY_ILS"], settings))


def _connect_database(runtime: Runtime) -> None:
    """Listeners, hooks and after-commit tasks of this runtime's database (never SQLAlchemy's global classes)."""
    db = runtime.db
    db.share(audit_chain.INFO_KEY, runtime.audit)  # every session can append to the keyed access log
    if getattr(runtime.search, "indexes_in_transaction", False):
        # an index that is a table of this database: each transaction writes the rows of the titles it touched
        transaction_index.index_in_transaction(db.factory, db.share, runtime.search, runtime.indexer.enrichers)
    # statistics events: the age from an encrypted date of birth, and the per-年度 borrower key
    db.share(CIPHER_INFO_KEY, runtime.cipher)
    db.share(yearkeys.INFO_KEY, yearkeys.YearKeys(runtime.cipher))
    db.hooks.add(REGISTERED, stats_recording.record_registration)
    indexing.watch_changes(db.factory)  # every flush queues the titles it touched for re-indexing
    # a commit that queued titles wakes both indexes that follow the change log: the catalog's and the books' text
    db.after_commit.register(indexing.AFTER_COMMIT_TASK, functools.partial(_kick_indexers, runtime))
    db.after_commit.register(outbox.AFTER_COMMIT_TASK, runtime.deliver_notifications)
    # the access log's newest entry, anchored outside the database after the commits that add one
    db.after_commit.register(audit_chain.AFTER_COMMIT_TASK, lambda: audit_services.anchor_latest(db, runtime.audit))
    # An ended loan's saved reading position goes with it (unless the patron keeps a reading history) ...
    db.hooks.add(loan_rows.LOAN_END, reading_positions.forget_position_of_ended_loan)
    # ... and a patron who switches the history off loses the positions kept from ended loans.
    event.listen(db.factory, "before_flush", reading_positions.forget_kept_positions_when_history_is_switched_off)
    # Statistics learn a school account's school, grade and age (never who) from the schools wing.
    db.hooks.add(school_facts.PATRON_FACTS, functools.partial(school_facts.patron_facts, cipher=runtime.cipher))


def _kick_indexers(runtime: Runtime) -> None:
    runtime.indexer.kick()
    if runtime.text_indexer is not None:
        runtime.text_indexer.kick()


def _declare_jobs(jobs: JobRegistry, settings: Mapping[str, Any]) -> JobRegistry:
    """Every scheduled job, declared once (``elibrary jobs list`` shows them)."""
    interval = int(settings.get("ELIBRARY_LENDING_JOBS_INTERVAL") or 0)  # 0: not in web workers (cron only)
    pace = every(interval or lending_jobs.LEASE_SECONDS)
    jobs.add(Job(lending_jobs.LEASE_NAME, pace, lending_jobs.scheduled_pass, in_web_worker=interval > 0, lease_seconds=lending_jobs.LEASE_SECONDS,
                 description="expire loans and holds, move waitlists, due notices, erase expired registrations and old notifications"))
    jobs.add(Job("notifications", pace, _deliver_notifications, in_web_worker=interval > 0, description="send committed outbox messages"))
    # The web workers index after each commit; the command catches up what a busy index left queued.
    jobs.add(Job("search-queue", pace, _catch_up_search_index, in_web_worker=False, description="index titles left in the search queue"))
    # unauthorised-access detection: lockouts and bursts of failures become one e-mail to staff per window
    jobs.add(Job("security-alerts", every(60), security_alerts.scheduled_check, description="alert staff of lockouts and repeated sign-in failures"))
    jobs.add(Job("security-events-retention", daily_at("04:10"), security_alerts.purge_old_events, in_web_worker=False,
                 description="remove security events older than ELIBRARY_SECURITY_EVENTS_DAYS"))
    jobs.add(Job("school-erasure", daily_at("02:30"), _erase_school_accounts, in_web_worker=False,
                 description="erase graduated and departed school accounts after their last sign-in day (their loans and holds end)"))
    if settings.get("ELIBRARY_LINE_MESSAGING_TOKEN") and settings.get("ELIBRARY_LINE_POLL_WINDOW"):
        start = str(settings["ELIBRARY_LINE_POLL_WINDOW"]).partition("-")[0].strip()
        jobs.add(Job("line-poll", daily_at(start), line_paper.scheduled_poll, in_web_worker=False, lease_seconds=3 * 3600,
                     description="ask the ILS about linked patrons' paper holds and overdues (LINE notices)"))
    if settings.get("ELIBRARY_BACKUP_SCHEDULE"):
        jobs.add(Job("backup", daily_at(str(settings["ELIBRARY_BACKUP_SCHEDULE"]).strip()), backup_schedule.scheduled_backup, in_web_worker=False,
                     lease_seconds=6 * 3600, description="a backup (book files incremental), retention, and a restore drill when due"))
    jobs.add(Job("usage-flush", every(60), _flush_usage, description="write this process's counted title views, visits and searches"))
    jobs.add(Job("stats-year-keys", daily_at("00:20"), stats_jobs.erase_closed_keys, in_web_worker=False,
                 description="erase the borrower keys of closed 年度 and yesterday's visitor salts"))
    jobs.add(Job("stats-rollup", daily_at("02:30"), stats_jobs.roll_up, in_web_worker=False, lease_seconds=3600,
                 description="count each finished month's lending events once per breakdown, for the statistics reports"))
    jobs.add(Job("stats-monthly-report", daily_at("06:00"), stats_jobs.monthly_report, in_web_worker=False, lease_seconds=1800,
                 description="on the 1st: e-mail last month's statistics report (PDF) to the chosen staff addresses"))
    return jobs


def _declare_gauges(gauges: GaugeRegistry) -> GaugeRegistry:
    """Every gauge of ``/metrics`` read from the database at scrape time (``elibrary.monitoring.metrics``)."""
    gauges.add(Gauge("elibrary_loans_active", "Current loans", monitoring_gauges.loans_active))
    gauges.add(Gauge("elibrary_holds_waiting", "Holds waiting for a copy", monitoring_gauges.holds_waiting))
    gauges.add(Gauge("elibrary_outbox_backlog", "Notifications not yet sent (and not given up)", monitoring_gauges.outbox_backlog))
    gauges.add(Gauge("elibrary_search_index_lag_changes", "Changes this server's search index has not applied yet", monitoring_gauges.search_index_lag))
    gauges.add(Gauge("elibrary_signin_lockouts_last_hour", "Sign-in locks started in the last hour", monitoring_gauges.security_lockouts_last_hour))
    gauges.add(Gauge("elibrary_backup_age_seconds", "Seconds since the last successful backup started", backup_schedule.backup_age_seconds))
    return gauges


def _erase_school_accounts(runtime: Runtime, now: datetime) -> str:
    from elibrary.lending import services as lending_services

    ends = school_erasure.LendingEnds(return_loan=lending_services.return_loan, cancel_hold=lending_services.cancel_hold)
    return school_erasure.scheduled_erasure(runtime, now, ends)


def _flush_usage(runtime: Runtime, _now: datetime) -> str:
    return f"usage counts written: {runtime.usage.flush() if runtime.usage else 0}"


def _deliver_notifications(runtime: Runtime, _now: datetime) -> str:
    return f"notifications sent: {runtime.deliver_notifications()}"


def _catch_up_search_index(runtime: Runtime, _now: datetime) -> str:
    text = runtime.text_indexer.run_once() if runtime.text_indexer is not None else 0
    return f"search index: {runtime.indexer.run_once()} titles updated; book text: {text} titles updated"


def register_views(app: Flask) -> None:
    """Every wing's blueprints and template helpers (the web half of the wiring room)."""
    from catalog_import import views as import_views
    from elibrary.announcements import views as announcement_views
    from elibrary.audit import views as audit_views
    from elibrary.backup import views as backup_views
    from elibrary.cards import views as card_views
    from elibrary.catalog import views as catalog_views
    from elibrary.help import views as help_views
    from elibrary.lending import views as lending_views
    from elibrary.line import views as line_views
    from elibrary.maintenance import views as maintenance_views
    from elibrary.monitoring import views as monitoring_views
    from elibrary.opds import views as opds_views
    from elibrary.operations import views as operations_views
    from elibrary.patrons import registration_views
    from elibrary.patrons import views as patron_views
    from elibrary.schools import cards_views as school_cards_views
    from elibrary.schools import classroom_views
    from elibrary.schools import signin_views as school_signin_views
    from elibrary.schools import sso_views as school_sso_views
    from elibrary.schools import views as school_views
    from elibrary.selection import views as selection_views
    from elibrary.staff import views as staff_views
    from elibrary.stats import views as stats_views
    from elibrary.stocktake import views as stocktake_views
    from elibrary.web import devmail
    from readers import text_views
    from readers import views as reader_views

    maintenance_views.init_app(app)  # first: its gate answers before anything asks the database
    for module in (opds_views, catalog_views, patron_views, staff_views, registration_views, audit_views, reader_views, text_views,
                   lending_views, import_views, selection_views, line_views, card_views, announcement_views, monitoring_views,
                   backup_views, operations_views, stocktake_views, school_views, school_signin_views, school_sso_views,
                   school_cards_views, classroom_views, devmail, help_views, stats_views):
        module.init_app(app)


def register_commands(cli: click.Group) -> None:
    """Every wing's commands on the ``elibrary`` command line."""
    from catalog_import import cli as import_cli
    from elibrary import job_commands, setup_commands
    from elibrary.audit import cli as audit_cli
    from elibrary.backup import cli as backup_cli
    from elibrary.catalog import cli as catalog_cli
    from elibrary.lending import cli as lending_cli
    from elibrary.line import cli as line_cli
    from elibrary.maintenance import cli as maintenance_cli
    from elibrary.patrons import cli as patron_cli
    from elibrary.schools import cards_cli as school_cards_cli
    from elibrary.schools import cli as school_cli
    from elibrary.security import cli as keys_cli
    from elibrary.selection import cli as selection_cli
    from elibrary.staff import cli as staff_cli
    from elibrary.stats import cli as stats_cli

    for module in (setup_commands, catalog_cli, patron_cli, staff_cli, audit_cli, keys_cli, lending_cli, job_commands, import_cli, backup_cli,
                   selection_cli, line_cli, maintenance_cli, school_cli, school_cards_cli, stats_cli):  # cards after the schools group it joins
        module.register(cli)
