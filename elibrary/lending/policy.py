"""Lending policy: per patron category (利用者区分) and library-wide settings, both editable by staff.

Rows in ``patron_categories`` and ``lending_settings`` override the built-in defaults below, so a new
database lends sensibly before staff have changed anything.
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from elibrary.catalog.models import Audience, Title
from elibrary.errors import InvalidInput
from elibrary.lending.errors import PatronNotAllowed
from elibrary.lending.models import LendingSetting, PatronCategory
from elibrary.patrons.models import Patron

TOKYO = timezone(timedelta(hours=9))  # Japan has no daylight saving time


@dataclass(frozen=True)
class CategoryPolicy:
    """What one patron category may do."""

    code: str
    name: str
    name_en: str
    max_loans: int = 5
    max_holds: int = 5
    loan_days: int = 14
    renewals: int = 1
    hold_ready_days: int = 3
    open_titles_only: bool = False
    collections: tuple[str, ...] = field(default_factory=tuple)  # empty: every collection


DEFAULT_CATEGORIES = {
    "citizen": CategoryPolicy("citizen", "一般", "Citizen"),
    # 仮登録: registered online, not yet confirmed at the counter.
    "provisional": CategoryPolicy("provisional", "仮登録", "Provisional", max_loans=1, max_holds=0, renewals=0, open_titles_only=True),
    "student": CategoryPolicy("student", "児童・生徒", "Student", max_loans=3, max_holds=3, collections=("children", "school")),
    "teacher": CategoryPolicy("teacher", "教員", "Teacher", max_loans=10, max_holds=10, loan_days=21),
}

# Library-wide settings: name -> (default, Japanese label, English label).
SETTINGS = {
    "due_soon_days": (2, "返却期限のお知らせ(日前)", "Due-soon notice (days before)"),
    "hold_ratio_target": (3, "購入検討の目安(予約数/冊数)", "Purchase alert: holds per copy above"),
    "max_loan_days": (30, "貸出期間の上限(日)", "Longest loan period (days)"),
}

INTEGER_FIELDS = ("max_loans", "max_holds", "loan_days", "renewals", "hold_ready_days")


def tokyo_today(now: datetime) -> date:
    """The library's calendar date at ``now``."""
    return now.astimezone(TOKYO).date()


def _from_row(row: PatronCategory) -> CategoryPolicy:
    return CategoryPolicy(
        code=row.code,
        name=row.name,
        name_en=row.name_en,
        max_loans=row.max_loans,
        max_holds=row.max_holds,
        loan_days=row.loan_days,
        renewals=row.renewals,
        hold_ready_days=row.hold_ready_days,
        open_titles_only=row.open_titles_only,
        collections=tuple(row.collections or ()),
    )


# Policy is read on every loan but changes rarely: kept per engine for a few seconds. A change saved
# in this process is seen at once; other processes (workers) see it within CACHE_SECONDS.
CACHE_SECONDS = 10.0
_cache: "weakref.WeakKeyDictionary[Engine, dict]" = weakref.WeakKeyDictionary()


def _cached(session: Session, key: tuple, load):
    engine = session.get_bind().engine
    entries = _cache.setdefault(engine, {})
    hit = entries.get(key)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    value = load()
    entries[key] = (value, now + CACHE_SECONDS)
    return value


def forget_cached_policy(session: Session) -> None:
    """Drop this process's cached policy (after staff change it)."""
    _cache.pop(session.get_bind().engine, None)


def category_policy(session: Session, code: str) -> CategoryPolicy:
    """The policy of category ``code``; an unknown category (e.g. new in the ILS) lends as a citizen."""

    def load() -> CategoryPolicy:
        row = session.get(PatronCategory, code)
        if row is not None:
            return _from_row(row)
        return DEFAULT_CATEGORIES.get(code) or DEFAULT_CATEGORIES["citizen"]

    return _cached(session, ("category", code), load)


def all_categories(session: Session) -> list[CategoryPolicy]:
    """Every category: the built-in ones (as edited) and those the library added."""
    merged = dict(DEFAULT_CATEGORIES)
    for row in session.scalars(select(PatronCategory)):
        merged[row.code] = _from_row(row)
    return list(merged.values())


def save_category(session: Session, code: str, **values) -> CategoryPolicy:
    """Create or change a category's policy (staff); limits must be whole numbers ≥ 0, periods ≥ 1."""
    code = code.strip()
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("区分コードは英数字で入力してください。", "The category code must be letters and digits.", field="code")
    current = category_policy(session, code) if code in DEFAULT_CATEGORIES or session.get(PatronCategory, code) else CategoryPolicy(code, code, code)
    merged = {f.name: getattr(current, f.name) for f in fields(CategoryPolicy)}
    merged.update({k: v for k, v in values.items() if v is not None})
    for name in INTEGER_FIELDS:
        value = merged[name]
        minimum = 1 if name in ("loan_days", "hold_ready_days") else 0
        if not isinstance(value, int) or value < minimum or value > 365:
            raise InvalidInput(
                f"{name} は{minimum}〜365の整数で入力してください。", f"{name} must be a whole number from {minimum} to 365.", field=name
            )
    row = session.get(PatronCategory, code) or PatronCategory(code=code)
    session.add(row)
    row.name = merged["name"] or code
    row.name_en = merged["name_en"] or ""
    for name in INTEGER_FIELDS:
        setattr(row, name, merged[name])
    row.open_titles_only = bool(merged["open_titles_only"])
    row.collections = [c for c in merged["collections"] if c]
    session.flush()
    forget_cached_policy(session)
    return _from_row(row)


def setting(session: Session, key: str) -> int:
    """A library-wide setting's value (the default unless staff changed it)."""

    def load() -> int:
        row = session.get(LendingSetting, key)
        return row.value if row is not None else SETTINGS[key][0]

    return _cached(session, ("setting", key), load)


def save_setting(session: Session, key: str, value: int) -> None:
    """Change a library-wide setting (staff)."""
    if key not in SETTINGS:
        raise InvalidInput("不明な設定です。", "Unknown setting.", field=key)
    if not isinstance(value, int) or value < 0 or value > 3650:
        raise InvalidInput("0〜3650の整数で入力してください。", "Enter a whole number from 0 to 3650.", field=key)
    row = session.get(LendingSetting, key) or LendingSetting(key=key)
    row.value = value
    session.add(row)
    session.flush()
    forget_cached_policy(session)


def check_patron_may_borrow(patron: Patron, now: datetime) -> None:
    """Refuse a blocked or expired patron, saying why."""
    if patron.blocked:
        reason = patron.block_reason or ""
        suffix_ja = f"(理由: {reason})" if reason else ""
        suffix_en = f" (reason: {reason})" if reason else ""
        raise PatronNotAllowed(
            f"利用が停止されているため貸出・予約できません{suffix_ja}。図書館にお問い合わせください。",
            f"Your card is blocked{suffix_en}. Please contact the library.",
            reason="blocked",
        )
    if patron.expires_on is not None and patron.expires_on < tokyo_today(now):
        raise PatronNotAllowed(
            "利用者カードの有効期限が切れています。図書館で更新してください。",
            "Your library card has expired. Please renew it at the library.",
            reason="expired",
        )


def check_collection(policy: CategoryPolicy, title: Title, is_open: bool) -> None:
    """Refuse a title outside the collections the category may borrow from."""
    problem = collection_problem(policy, {c.code for c in title.collections}, title.audience == Audience.children, is_open)
    if problem is not None:
        raise problem


def collection_problem(policy: CategoryPolicy, codes: set[str], children: bool, is_open: bool) -> PatronNotAllowed | None:
    """Why the category may not borrow a title in collections ``codes`` (``None``: it may)."""
    if policy.open_titles_only and not is_open:
        return PatronNotAllowed(
            f"{policy.name}の方は無料公開の本のみ借りられます。",
            f"{policy.name_en or policy.code} patrons may borrow open titles only.",
            reason="collection",
        )
    if not policy.collections:
        return None
    codes = set(codes) | ({"children"} if children else set())
    if not codes & set(policy.collections):
        return PatronNotAllowed(
            f"{policy.name}の方はこの本を借りられません（対象外の資料です）。",
            f"{policy.name_en or policy.code} patrons may not borrow from this collection.",
            reason="collection",
        )
    return None
