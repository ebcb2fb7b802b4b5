"""Settings in layers: defaults, then ``instance/config.py``, then ``ELIBRARY_*`` environment variables.

The names are those of the operators' contract (README, docs/operations.md); they are used unchanged as Flask config keys.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

DEFAULTS: dict[str, Any] = {
    "ELIBRARY_ENV": "development",  # "production" turns on the start-up safety checks
    "ELIBRARY_DATABASE_URL": None,  # None: sqlite:///<instance>/elibrary.db
    "ELIBRARY_SECRET_KEY": None,  # None: generated into <instance>/secret_key
    "ELIBRARY_DATA_KEY": None,  # None: generated into <instance>/data_key
    "ELIBRARY_AUDIT_KEY": None,  # None: generated into <instance>/audit_key (the access log's HMAC chain)
    "ELIBRARY_AUDIT_ANCHOR": None,  # None: <instance>/audit_anchor (the access log's newest entry, outside the database)
    "ELIBRARY_SEARCH": "whoosh",
    "ELIBRARY_SEARCH_PATH": None,  # None: <instance>/search-index
    "ELIBRARY_SEARCH_SYNC": False,  # True: index in the committing thread (tests, CLI)
    "ELIBRARY_SEARCH_COUNT_CAP": 1000,  # hit counts are exact up to this, then "1,000件以上"
    "ELIBRARY_SEARCH_POLL_SECONDS": 2.0,  # how often each worker applies changes made on other servers
    "ELIBRARY_BOOKTEXT": "tantivy",  # the book-text index (本文検索): "tantivy" (a folder per server) or "memory" (tests)
    "ELIBRARY_BOOKTEXT_PATH": None,  # None: <instance>/booktext-index
    "ELIBRARY_BOOKTEXT_WARM_MB": 8192,  # MB of the book-text index a worker reads into the page cache when it starts (at most half the memory; 0: off)
    "ELIBRARY_TEXT_SEARCH_LIMIT": "30/600",  # text searches with snippets per patron (or client) per seconds
    "ELIBRARY_STORAGE": "local",
    "ELIBRARY_STORAGE_PATH": None,  # None: <instance>/files
    "ELIBRARY_ILS": "local",
    "ELIBRARY_NOTIFIER": "log",  # "log" until e-mail/LINE delivery is configured; "line": LINE push and e-mail
    "ELIBRARY_DEV_MAIL_PATH": None,  # with ELIBRARY_NOTIFIER = "dev": where kept messages go (None: <instance>/dev-mail)
    "ELIBRARY_NOTIFIER_EMAIL": "smtp",  # with ELIBRARY_NOTIFIER = "line": the notifier of e-mail messages
    "ELIBRARY_SIP2_HOST": None,
    "ELIBRARY_SIP2_PORT": 6001,
    "ELIBRARY_SIP2_USER": "",
    "ELIBRARY_SIP2_PASSWORD": "",
    "ELIBRARY_SIP2_LOCATION": "",
    "ELIBRARY_SIP2_ENCODING": "utf-8",
    "ELIBRARY_SIP2_TLS": False,
    "ELIBRARY_SIP2_TLS_CA": None,  # CA bundle for the ACS's certificate (None: the system's)
    "ELIBRARY_SIP2_DIALECT": "generic",  # generic, evergreen, polaris, verso, japanese-sjis (ils/sip2/dialect.py)
    "ELIBRARY_SIP2_INSTITUTION": "",  # AO, exactly as the ILS expects it
    "ELIBRARY_SIP2_TERMINAL_PASSWORD": "",  # AC
    "ELIBRARY_SIP2_SEPARATOR": None,  # None: the dialect's ("|")
    "ELIBRARY_SIP2_TIMEOUT": 5,  # seconds per reply
    "ELIBRARY_SIP2_POOL_SIZE": 4,
    "ELIBRARY_SIP2_CATEGORIES": {},  # patron type (PC) -> category, e.g. {"Adult": "citizen", "*": "citizen"}
    "ELIBRARY_ILS_HTTP_MAPPING": None,  # the HTTP connector's request/response mapping (see elibrary/ils/http.py)
    "ELIBRARY_REGISTRATION_ENABLED": True,  # online provisional registration (利用者仮登録)
    "ELIBRARY_REGISTRATION_REQUIRED": "name,kana,birth_date,postal_code,address,email",  # also phone; name and email always
    "ELIBRARY_REGISTRATION_CONFIRM_HOURS": 48,
    "ELIBRARY_REGISTRATION_EXPIRE_DAYS": 14,
    # Sign-in throttle (elibrary/security/throttle.py states what these guarantee).
    "ELIBRARY_SIGNIN_PAIR_LIMIT": 5,  # failures for one card from one address before that pair must wait
    "ELIBRARY_SIGNIN_CARD_LIMIT": 5,  # failures for one card from addresses it never signed in from
    "ELIBRARY_SIGNIN_ADDRESS_LIMIT": 30,  # failures from one address (any cards) per quiet hour
    "ELIBRARY_SIGNIN_SCHOOL_ADDRESS_LIMIT": 300,  # the same for addresses in ELIBRARY_SCHOOL_NETWORKS
    "ELIBRARY_SCHOOLS_GRADUATE_UNTIL": "04-30",  # MM-DD of the new 年度: graduates sign in until then, then are erased
    "ELIBRARY_SCHOOL_NETWORKS": "",  # CIDR list, e.g. "203.0.113.0/28, 2001:db8:1::/48": a school's NAT
    "ELIBRARY_ILS_LOCK_AFTER": 0,  # failures after which the ILS itself locks a card (0: it never does)
    "ELIBRARY_ILS_LOCK_MINUTES": 30,  # how long the ILS remembers failures when counting them
    "ELIBRARY_SESSION_DAYS": 30,  # a sign-in lasts at most this long (server-side session record)
    "ELIBRARY_PUBLIC_URL": None,  # the site's public base URL; required in production (other hosts refused)
    "ELIBRARY_TRUSTED_PROXIES": 0,  # reverse proxies in front that set X-Forwarded-For/-Proto
    "ELIBRARY_SMTP_HOST": "localhost",
    "ELIBRARY_SMTP_PORT": 25,
    "ELIBRARY_SMTP_FROM": "elibrary@localhost",
    "ELIBRARY_SMTP_USER": None,
    "ELIBRARY_SMTP_PASSWORD": None,
    "ELIBRARY_SMTP_STARTTLS": False,
    "ELIBRARY_LINE_LOGIN_CHANNEL_ID": None,  # the LINE MINI App / LINE Login channel (ID tokens' client_id); None: LINE off
    "ELIBRARY_LINE_LIFF_ID": None,
    "ELIBRARY_LINE_MESSAGING_SECRET": None,  # the Messaging API channel: webhook signature secret
    "ELIBRARY_LINE_MESSAGING_TOKEN": None,  # ... and its channel access token (push)
    "ELIBRARY_LINE_API_BASE": "https://api.line.me",
    "ELIBRARY_LINE_LOGIN_BASE": "https://access.line.me",
    "ELIBRARY_LINE_LIFF_MOCK": False,  # development and browser tests only: @line/liff-mock instead of LINE (never in production)
    "ELIBRARY_LINE_TIMEOUT": 10,  # seconds per LINE API call
    "ELIBRARY_LINE_QUIET_HOURS": "21:00-08:00",  # local time (Asia/Tokyo) when no push is sent; "" for none
    "ELIBRARY_LINE_POLL_WINDOW": "01:00-05:00",  # `elibrary line poll` runs only then (Japan time), outside the ILS's staff hours
    "ELIBRARY_LINE_POLL_BUDGET_MINUTES": 30,  # one pass stops after this; the next pass continues where it stopped
    "ELIBRARY_LINE_NOTICE_TITLES": False,  # タイトルを通知に含める: allow patrons to opt in to book titles in LINE notices
    "ELIBRARY_CARD_CHECK_DIGIT": "none",  # NW-7 card check digit: see elibrary/cards/checkdigits.py ALGORITHMS
    "ELIBRARY_CARD_CHECK_DIGIT_IN_NUMBER": False,  # True: card numbers already end with their check character
    "ELIBRARY_CARD_START_STOP": "A",  # NW-7 start/stop characters, one letter (A-D) or two ("AB")
    "ELIBRARY_OIDC_ISSUER": None,  # the default OpenID Provider of school sign-in (a school's own settings override it)
    "ELIBRARY_OIDC_CLIENT_ID": None,
    "ELIBRARY_OIDC_CLIENT_SECRET": None,
    "ELIBRARY_OIDC_TIMEOUT": 10,  # seconds per call to an OpenID Provider (discovery, keys, token)
    "ELIBRARY_DOCS_PATH": None,  # the manuals served at /help/manuals (None: docs/ja beside the package)
    "ELIBRARY_JAPANESE_ERA": False,  # True: dates in Japanese with the era (令和8年12月20日（日）)
    "ELIBRARY_LIBRARY_NAME": "電子図書館",
    "ELIBRARY_LIBRARY_NAME_EN": "e-Library",
    "ELIBRARY_MAX_UPLOAD_MB": 200,
    "ELIBRARY_ONIX_SCHEMA_PATH": None,  # None: the XSDs shipped in the onixcheck package (for `import onix --validate`)
    "ELIBRARY_DEFAULT_LOCALE": "ja",
    "ELIBRARY_TAX_ROUNDING": "floor",  # consumption tax per order and rate: floor 切り捨て, half-up 四捨五入, ceil 切り上げ
    "ELIBRARY_ORDER_CSV": None,  # the distributor's order CSV: {"encoding": "cp932", "columns": [[header, field], ...]}
    "ELIBRARY_SELECTION_SHOW_REQUESTERS": False,  # selectors may see who made a purchase request (each look is logged)
    "ELIBRARY_SELECTION_TARGETS": None,  # collection balance targets in %: {"ndc": {"9": 30}, "audience": {...}, "model": {...}}
    "ELIBRARY_PDF_FONT": None,  # a Japanese TrueType .ttf for PDFs; None: IPAex Gothic (fonts-ipaexfont) if installed
    "ELIBRARY_LENDING_JOBS_INTERVAL": 300,  # seconds between in-process lending passes; 0 turns it off
    "ELIBRARY_OUTBOX_RETENTION_DAYS": 7,  # delivered notifications (encrypted personal data) are erased after this
    "ELIBRARY_OUTBOX_FAILED_RETENTION_DAYS": 30,  # notifications that gave up are kept this long for staff to see why
    # Logs and monitoring (docs/operations.md, "Logs and monitoring")
    "ELIBRARY_LOG_FILE": None,  # None: stderr (systemd's journal); else a file logrotate may move (WatchedFileHandler)
    "ELIBRARY_LOG_FORMAT": "json",  # "json": one JSON object per line; "text": plain lines
    "ELIBRARY_LOG_LEVEL": "INFO",
    "ELIBRARY_METRICS_ALLOW": "127.0.0.1/32, ::1/128",  # networks that may read /metrics (others get 404)
    "ELIBRARY_SECURITY_EVENTS_DAYS": 400,  # security events are kept this long (over a year, for audits)
    "ELIBRARY_SECURITY_ALERT_TO": "",  # comma-separated e-mail addresses for alerts; empty: every active admin
    "ELIBRARY_SECURITY_ALERT_MINUTES": 60,  # at most one alert e-mail per this many minutes
    "ELIBRARY_SECURITY_ALERT_FAILURES": 20,  # failed sign-ins (all cards) since the last alert that raise one
    "ELIBRARY_STAFF_NETWORKS": "",  # CIDR list where staff pages answer (library, city hall); empty: everywhere
    "ELIBRARY_STAFF_HTTPS_ONLY": None,  # None: on in production; staff pages refused over plain HTTP
    "ELIBRARY_CLAMD_SOCKET": None,  # clamd's Unix socket (e.g. /run/clamav/clamd.ctl): uploads are scanned; None: not scanned
    "ELIBRARY_CLAMD_TIMEOUT": 30,  # seconds for one scan
    "ELIBRARY_USAGE_FLUSH_SECONDS": 60,  # each worker writes its counted title views, visits and searches this often
    "ELIBRARY_CONTENT_URL": None,  # None: single host; else the second origin serving book content to the readers
    "ELIBRARY_MAINTENANCE_FILE": None,  # None: <ELIBRARY_STORAGE_PATH>/.maintenance.json, shared by every app server
    "ELIBRARY_MAINTENANCE_NOTICE_DAYS": 10,  # a planned stop is announced on the home page this many days ahead
    "ELIBRARY_BACKUP_SCHEDULE": None,  # "HH:MM" Japan time: a daily backup by `elibrary jobs run` (cron), e.g. "03:00"; None: off
    "ELIBRARY_BACKUP_DIR": None,  # None: <instance>/backups (archives, and the shared "objects" folder of book files)
    "ELIBRARY_BACKUP_KEEP_DAILY": 7,  # retention: the newest backup of each of the last 7 days,
    "ELIBRARY_BACKUP_KEEP_WEEKLY": 4,  # ... of each of the last 4 weeks,
    "ELIBRARY_BACKUP_KEEP_MONTHLY": 6,  # ... and of each of the last 6 months
    "ELIBRARY_BACKUP_INCLUDE_KEYS": True,  # False: keys kept apart by the operator (a restore needs them)
    "ELIBRARY_BACKUP_DRILL_DAYS": 0,  # a restore drill of the new backup every N days (e.g. 30); 0: off
    "ELIBRARY_BACKUP_MAX_AGE_HOURS": 26,  # the health detail fails when the last scheduled backup is older
    "ELIBRARY_MONITORING_NETWORKS": "",  # CIDR list allowed to read /healthz/detail without signing in (monitoring servers)
}

# Values that must never protect a production site.
DEVELOPMENT_SECRETS = frozenset({"dev", "development", "secret", "change-me", "changeme", "test"})
MIN_SECRET_LENGTH = 32

_BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False, "": False}


class ConfigError(RuntimeError):
    """The settings are unusable; the message says which one and why."""


def load_settings(instance_path: str, test_config: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """Merge defaults, ``instance/config.py`` and the environment (or ``test_config``) into one dict."""
    settings = dict(DEFAULTS)
    config_file = Path(instance_path) / "config.py"
    if config_file.exists():
        namespace: dict[str, Any] = {"__file__": str(config_file)}
        exec(compile(config_file.read_bytes(), str(config_file), "exec"), namespace)  # noqa: S102 - operator's own file
        settings.update({k: v for k, v in namespace.items() if k.isupper()})
    for key, value in environ.items():
        if key.startswith("ELIBRARY_"):
            settings[key] = _coerce(value, DEFAULTS.get(key))
    if test_config:
        settings.update(test_config)
    return settings


def _coerce(value: str, default: Any) -> Any:
    """Turn an environment string into the default's type (ints and booleans)."""
    if isinstance(default, bool):
        if value.strip().lower() not in _BOOLEAN_WORDS:
            raise ConfigError(f"expected a yes/no value, got {value!r}")
        return _BOOLEAN_WORDS[value.strip().lower()]
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"expected a whole number, got {value!r}") from None
    return value


def fill_paths(settings: dict[str, Any], instance_path: str) -> None:
    """Derive instance-relative defaults (database, index, files)."""
    base = Path(instance_path)
    if not settings["ELIBRARY_DATABASE_URL"]:
        settings["ELIBRARY_DATABASE_URL"] = f"sqlite:///{base / 'elibrary.db'}"
    if not settings["ELIBRARY_SEARCH_PATH"]:
        settings["ELIBRARY_SEARCH_PATH"] = str(base / "search-index")
    if not settings["ELIBRARY_STORAGE_PATH"]:
        settings["ELIBRARY_STORAGE_PATH"] = str(base / "files")
    if not settings.get("ELIBRARY_BOOKTEXT_PATH"):
        settings["ELIBRARY_BOOKTEXT_PATH"] = str(base / "booktext-index")
    if not settings.get("ELIBRARY_BACKUP_DIR"):
        settings["ELIBRARY_BACKUP_DIR"] = str(base / "backups")
    settings.setdefault("ELIBRARY_INSTANCE_PATH", str(base))
    if not settings.get("ELIBRARY_AUDIT_ANCHOR"):
        settings["ELIBRARY_AUDIT_ANCHOR"] = str(base / "audit_anchor")
    if not settings.get("ELIBRARY_DEV_MAIL_PATH"):
        settings["ELIBRARY_DEV_MAIL_PATH"] = str(base / "dev-mail")


def ensure_keys(settings: dict[str, Any], instance_path: str) -> None:
    """Read the secret keys from the instance folder, generating them (mode 0600) on first start."""
    for setting, filename in (("ELIBRARY_SECRET_KEY", "secret_key"), ("ELIBRARY_DATA_KEY", "data_key"), ("ELIBRARY_AUDIT_KEY", "audit_key")):
        if settings.get(setting):
            continue
        settings[setting] = _read_or_create_key(Path(instance_path) / filename)
    from elibrary.security.keys import load_key_ring

    load_key_ring(settings, instance_path)  # earlier data keys (after `elibrary keys rotate`) and the lookup key


def _read_or_create_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)  # 256 bits, also usable as an AES-256 key after decoding
    # O_EXCL: two workers starting together must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def check_production(settings: Mapping[str, Any]) -> None:
    """Refuse to run a production site with a development secret or without its public URL."""
    if settings.get("ELIBRARY_ENV") != "production":
        return
    for name in ("ELIBRARY_SECRET_KEY", "ELIBRARY_DATA_KEY", "ELIBRARY_AUDIT_KEY"):
        value = str(settings.get(name) or "")
        if value.lower() in DEVELOPMENT_SECRETS or len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{name} is a development value; set a random key of at least {MIN_SECRET_LENGTH} characters")
    if "dev" in (settings.get("ELIBRARY_NOTIFIER"), settings.get("ELIBRARY_NOTIFIER_EMAIL") if settings.get("ELIBRARY_NOTIFIER") == "line" else None):
        raise ConfigError("ELIBRARY_NOTIFIER is dev, which keeps messages in plain files for development; set smtp or line in production")
    if not settings.get("ELIBRARY_PUBLIC_URL"):
        raise ConfigError("ELIBRARY_PUBLIC_URL is not set; production needs the site's public URL, e.g. https://library.example.jp")
