"""The schools wing's entry points for views and commands: read a roster file, plan, apply.

Services take a Session and never import Flask; the caller commits (``web/transactions.py``, CLI scope).
``passwords_for`` is the exception: it reads in a transaction of its own and then hashes with none open, so
that the import's writing transaction (on SQLite, the one write lock) does not wait for the hashing.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.db import Database, utcnow
from elibrary.schools import directory
from elibrary.schools.accounts import fresh_passwords
from elibrary.schools.applying import apply_import
from elibrary.schools.directory import Actor
from elibrary.schools.importing import ImportPlan, ImportResult, plan_import
from elibrary.schools.models import Member, School, SchoolClass
from elibrary.schools.oneroster import KnownIds, parse_bundle
from elibrary.schools.roster import MAX_ROSTER_BYTES, ParsedRoster, RosterRefused
from elibrary.schools.roster_csv import parse_csv, too_large_ja
from elibrary.security.crypto import DataCipher

ROSTER_ROLES = ("admin", "librarian")


def parse_roster(session: Session, data: bytes) -> ParsedRoster:
    """A roster file's records: a OneRoster CSV bundle (zip) or the Japanese CSV template, told apart by content."""
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterRefused(too_large_ja(len(data)), "The roster file is too large (at most 10 MB).")
    if data[:4] == b"PK\x03\x04":
        return parse_bundle(data, known_ids(session))
    return parse_csv(data)


def known_ids(session: Session) -> KnownIds:
    """The sourcedIds the database holds (for OneRoster delta bundles that refer to earlier imports)."""
    known = KnownIds()
    for sid, code, kind in session.execute(select(School.sourced_id, School.code, School.kind).where(School.sourced_id.is_not(None))):
        known.schools[sid] = (code, kind)
    rows = session.execute(select(SchoolClass.sourced_id, School.code, SchoolClass.grade, SchoolClass.name)
                           .join(School, SchoolClass.school_id == School.id).where(SchoolClass.sourced_id.is_not(None)))
    for sid, code, grade, name in rows:
        known.classes[sid] = (code, grade, name)
    known.members = set(session.scalars(select(Member.sourced_id).where(Member.sourced_id.is_not(None))))
    return known


def import_roster(
    session: Session, cipher: DataCipher, data: bytes, actor: Actor, *, year: int | None = None, school_code: str | None = None,
    dry_run: bool = True, now: datetime | None = None, passwords: list[tuple[str, str]] | None = None,
) -> tuple[ImportPlan, ImportResult | None]:
    """Plan a roster import and, unless ``dry_run``, apply it; a dry run writes nothing and makes no password.
    ``passwords``: the new accounts' initial passwords, hashed beforehand (``passwords_for``)."""
    now = now or utcnow()
    plan = _plan(session, cipher, data, year, school_code, now)
    if dry_run:
        return plan, None
    return plan, apply_import(session, cipher, plan, actor, now=now, passwords=passwords)


def passwords_for(db: Database, cipher: DataCipher, data: bytes, *, year: int | None = None, school_code: str | None = None,
                  now: datetime | None = None) -> list[tuple[str, str]]:
    """Initial passwords, with their hashes, for the accounts importing this roster would create now: planned in
    a read-only transaction, hashed with no transaction open (3,000 take seconds). For an import or a roll-over
    right after; if the roster then creates more accounts, the import makes the rest itself."""
    with db.scope(write=False) as session:
        count = len(_plan(session, cipher, data, year, school_code, now or utcnow()).new)
    return fresh_passwords(count)


def _plan(session: Session, cipher: DataCipher, data: bytes, year: int | None, school_code: str | None, now: datetime) -> ImportPlan:
    roster = parse_roster(session, data)
    return plan_import(session, cipher, roster, year=year or roster.year or directory.current_school_year(now), school_code=school_code)
