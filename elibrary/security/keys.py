"""The data-key ring and its rotation (``elibrary keys rotate``).

Files in the instance folder (mode 0600):

- ``data_key``          the current key (as before rotation existed); ``data_key.version`` its version (1 if absent)
- ``data_key.v<N>``     every earlier (and a just-generated) key, so older ciphertexts stay readable
- ``lookup_key``        the secret of the keyed hashes (card numbers, e-mail addresses). It is written at the
                        first rotation from the original key and never rotated, because stored hashes cannot
                        be recomputed without the clear values of every table.

Rotation writes the new key to ``data_key.v<N+1>`` first, re-encrypts every registered column in one
transaction, and only then makes it current: a crash at any point leaves every value readable.
Environment settings (``ELIBRARY_DATA_KEY``, ``ELIBRARY_DATA_KEY_VERSION``, ``ELIBRARY_DATA_KEYS_PREVIOUS``,
``ELIBRARY_LOOKUP_KEY``) override the files; keys given that way are rotated by the operator.
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.security.crypto import DataCipher

# (model import path, column attribute, encryption context) of every encrypted column elibrary rotates.
# Other domains append theirs; a column not listed stays readable under its old key.
ENCRYPTED_COLUMNS: list[tuple[str, str, str]] = [
    ("elibrary.patrons.models:Patron", "card_enc", "patron.card"),
    ("elibrary.patrons.models:Patron", "name_enc", "patron.name"),
    ("elibrary.patrons.models:Patron", "email_enc", "patron.email"),
    ("elibrary.patrons.models:Patron", "birth_date_enc", "patron.birth_date"),
    ("elibrary.security.yearkeys:StatsYearKey", "key_enc", "stats.year_key"),
    ("elibrary.staff.models:StaffUser", "totp_secret_enc", "staff.totp"),
    ("elibrary.notify.models:OutboxMessage", "address_enc", "outbox.address"),
    ("elibrary.notify.models:OutboxMessage", "subject_enc", "outbox.subject"),
    ("elibrary.notify.models:OutboxMessage", "body_enc", "outbox.body"),
] + [
    ("elibrary.patrons.models:Registration", f"{f}_enc", f"registration.{f}")
    for f in ("name", "kana", "birth_date", "postal_code", "address", "phone", "email")
]


class RotationRefused(RuntimeError):
    """Rotation cannot be done automatically (keys come from the environment)."""


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")


def load_key_ring(settings: dict[str, Any], instance_path: str) -> None:
    """Fill ``ELIBRARY_DATA_KEY_VERSION``, ``_KEYS_PREVIOUS`` and ``ELIBRARY_LOOKUP_KEY`` from the instance files."""
    base = Path(instance_path)
    if not settings.get("ELIBRARY_DATA_KEY_VERSION"):
        version_file = base / "data_key.version"
        settings["ELIBRARY_DATA_KEY_VERSION"] = int(version_file.read_text().strip()) if version_file.exists() else 1
    previous = settings.get("ELIBRARY_DATA_KEYS_PREVIOUS") or {}
    if isinstance(previous, str):  # from the environment: {"1": "old key", ...}
        import json

        previous = json.loads(previous)
    previous = {int(k): v for k, v in previous.items()}
    for path in base.glob("data_key.v*"):
        match = re.fullmatch(r"data_key\.v(\d+)", path.name)
        if match and int(match.group(1)) not in previous:
            previous[int(match.group(1))] = path.read_text().strip()
    previous.pop(int(settings["ELIBRARY_DATA_KEY_VERSION"]), None)
    settings["ELIBRARY_DATA_KEYS_PREVIOUS"] = previous
    lookup = base / "lookup_key"
    if not settings.get("ELIBRARY_LOOKUP_KEY") and lookup.exists():
        settings["ELIBRARY_LOOKUP_KEY"] = lookup.read_text().strip()


def cipher_from_settings(settings: Mapping[str, Any]) -> DataCipher:
    """The ``DataCipher`` of the configured key ring."""
    return DataCipher(
        settings["ELIBRARY_DATA_KEY"],
        version=int(settings.get("ELIBRARY_DATA_KEY_VERSION") or 1),
        previous={int(k): v for k, v in (settings.get("ELIBRARY_DATA_KEYS_PREVIOUS") or {}).items()},
        lookup_secret=settings.get("ELIBRARY_LOOKUP_KEY") or None,
    )


@dataclass(frozen=True)
class RotationReport:
    """What ``rotate`` did."""

    version: int
    values: int


def reencrypt(session: Session, old: DataCipher, new: DataCipher) -> int:
    """Decrypt every registered column with ``old`` and encrypt it with ``new``; returns how many values."""
    import importlib

    count = 0
    by_model: dict[str, list[tuple[str, str]]] = {}
    for target, column, context in ENCRYPTED_COLUMNS:
        by_model.setdefault(target, []).append((column, context))
    for target, columns in by_model.items():
        module, _, name = target.partition(":")
        model = getattr(importlib.import_module(module), name)
        for row in session.scalars(select(model)):
            for column, context in columns:
                blob = getattr(row, column)
                if blob:  # None or b"": nothing stored (an outbox message erased after delivery)
                    setattr(row, column, new.encrypt(old.decrypt(blob, context), context))
                    count += 1
    session.flush()
    return count


def rotate(db, settings: Mapping[str, Any], instance_path: str, environ: Mapping[str, str] = os.environ) -> RotationReport:
    """Generate a new data key, re-encrypt everything under it, and make it current."""
    if any(environ.get(name) for name in ("ELIBRARY_DATA_KEY", "ELIBRARY_DATA_KEY_VERSION", "ELIBRARY_DATA_KEYS_PREVIOUS")):
        raise RotationRefused("the data key comes from the environment: rotate it there (see README, Key rotation)")
    base = Path(instance_path)
    old = cipher_from_settings(settings)
    old_version = int(settings.get("ELIBRARY_DATA_KEY_VERSION") or 1)
    new_version = old_version + 1
    if new_version > 255:
        raise RotationRefused("key versions are exhausted (255)")
    old_secret, new_secret = settings["ELIBRARY_DATA_KEY"], secrets.token_urlsafe(32)
    lookup = settings.get("ELIBRARY_LOOKUP_KEY") or old_secret
    if not (base / "lookup_key").exists() and not environ.get("ELIBRARY_LOOKUP_KEY"):
        _write_secret(base / "lookup_key", lookup)
    _write_secret(base / f"data_key.v{old_version}", old_secret)
    _write_secret(base / f"data_key.v{new_version}", new_secret)
    previous = {**(settings.get("ELIBRARY_DATA_KEYS_PREVIOUS") or {}), old_version: old_secret}
    new = DataCipher(new_secret, version=new_version, previous=previous, lookup_secret=lookup)
    with db.scope() as session:
        count = reencrypt(session, old, new)
    _write_secret(base / "data_key", new_secret)
    _write_secret(base / "data_key.version", str(new_version))
    return RotationReport(new_version, count)
