"""The licence check (電子書籍の蔵書点検): a distributor's licence report against the library's licences.

Each reported licence is paired with one of ours of the same ISBN and model (both sorted by end date, then
copies and loans); what is left over on either side, or differs in copies, loans left or end date, is a
difference with a one-click fix: add the missing licence, end the extra one, or take the report's values.
The report is kept as read; differences are worked out afresh each time, so a fixed line disappears.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.errors import Conflict, NotFound
from elibrary.lending import licenses as licence_terms
from elibrary.lending.models import License, LicenseModel
from elibrary.lending.policy import TOKYO
from elibrary.lending.supply import add_license, promote_holds
from elibrary.selection.funds import require_selector
from elibrary.selection.models import LicenceReconciliation

KINDS = {"missing": ("不足（当館にない）", "Missing here"), "extra": ("過剰（報告にない）", "Not in the report"),
         "different": ("相違", "Different"), "match": ("一致", "Matches")}
FIELD_LABELS = {"copies": "同時貸出数", "loans": "残り貸出回数", "until": "有効期限"}


@dataclass(frozen=True)
class ReportLine:
    """One licence as the distributor reports it (``until`` as an ISO date)."""

    line: int
    isbn: str
    title: str
    model: str
    copies: int | None = None
    loans: int | None = None
    until: str | None = None


@dataclass(frozen=True)
class Difference:
    """One result of the check; ``key`` names it for its fix (stable while nothing changes)."""

    kind: str
    key: str
    isbn: str
    title: str
    model: str
    report: ReportLine | None
    licence: License | None
    fields: tuple[str, ...] = ()
    fixable: bool = True

    def label(self, locale: str = "ja") -> str:
        """The kind in words."""
        return KINDS[self.kind][0 if locale == "ja" else 1]


def start_check(session: Session, staff, lines: list[ReportLine], problems: list[tuple[int, str]], *, filename: str,
                distributor: str, scope: str) -> LicenceReconciliation:
    """Keep a report as read (lines and the rows not read) for checking."""
    require_selector(staff)
    if not lines:
        raise Conflict("ライセンス一覧に読める行がありません。", "The report has no readable lines.")
    run = LicenceReconciliation(staff_id=staff.id, filename=filename[:200], distributor=distributor[:200],
                                scope="all" if scope == "all" else "listed", lines=[asdict(line) for line in lines],
                                problems=[[number, reason] for number, reason in problems])
    session.add(run)
    session.flush()
    return run


def get_check(session: Session, staff, run_id: int) -> LicenceReconciliation:
    """One check, for selectors."""
    require_selector(staff)
    run = session.get(LicenceReconciliation, run_id)
    if run is None:
        raise NotFound("この点検はありません。", "No such licence check.")
    return run


def recent_checks(session: Session, staff, limit: int = 20) -> list[LicenceReconciliation]:
    """The latest checks, newest first."""
    require_selector(staff)
    return list(session.scalars(select(LicenceReconciliation).order_by(LicenceReconciliation.id.desc()).limit(limit)))


def compare(session: Session, run: LicenceReconciliation, now: datetime | None = None) -> list[Difference]:
    """Every reported licence and every licence of ours in scope, paired, with what differs."""
    now = now or utcnow()
    reported = sorted((ReportLine(**line) for line in run.lines), key=lambda r: (r.isbn, r.model))
    isbns = {line.isbn for line in reported}
    query = select(License, Title).join(Title, Title.id == License.title_id)
    if run.scope != "all":
        query = query.where(Title.isbn.in_(isbns))
    ours: dict[tuple[str, str], list[License]] = {}
    titles: dict[str, str] = {}
    for licence, title in session.execute(query.order_by(License.id)):
        if licence.stop_reason(now) is None and title.isbn:
            ours.setdefault((title.isbn, licence.model.value), []).append(licence)
            titles[title.isbn] = title.title
    owned = set(session.scalars(select(Title.isbn).where(Title.isbn.in_(isbns))))
    results: list[Difference] = []
    by_key = {key: list(group) for key, group in itertools.groupby(reported, key=lambda r: (r.isbn, r.model))}
    for key in sorted(set(by_key) | set(ours)):
        theirs = sorted(by_key.get(key, []), key=lambda r: (r.until or "9999", r.copies or 0, r.loans or 0))
        mine = sorted(ours.get(key, []), key=lambda lic: (end_date(lic) or "9999", lic.copies or 0, lic.loans_remaining or 0, lic.id))
        for report, licence in itertools.zip_longest(theirs, mine):
            results.append(_difference(key, report, licence, titles.get(key[0]) or (report.title if report else ""), key[0] in owned))
    return results


def _difference(key: tuple[str, str], report: ReportLine | None, licence: License | None, title: str, owned: bool) -> Difference:
    isbn, model = key
    if licence is None:
        return Difference("missing", f"m:{report.line}", isbn, title, model, report, None, fixable=owned)
    if report is None:
        return Difference("extra", f"x:{licence.id}", isbn, title, model, None, licence)
    fields = tuple(name for name, theirs, mine in (
        ("copies", report.copies, licence.copies if model != LicenseModel.open.value else None),
        ("loans", report.loans, licence.loans_remaining),
        ("until", report.until, end_date(licence)),
    ) if theirs is not None and theirs != mine)
    kind = "different" if fields else "match"
    return Difference(kind, f"d:{report.line}:{licence.id}", isbn, title, model, report, licence, fields)


def end_date(licence: License) -> str | None:
    """A licence's last day (Japan time) as an ISO date, or None."""
    return licence.valid_until.astimezone(TOKYO).date().isoformat() if licence.valid_until else None


def apply_fix(session: Session, staff, run_id: int, key: str, *, cipher=None, now: datetime | None = None) -> Difference:
    """Make one difference go away as the report says: add, end or correct a licence."""
    now = now or utcnow()
    run = get_check(session, staff, run_id)
    found = next((d for d in compare(session, run, now) if d.key == key and d.kind != "match"), None)
    if found is None:
        raise Conflict("この相違はもうありません（直したか、ライセンスが変わりました）。", "This difference is gone (fixed, or the licences changed).")
    note = f"蔵書点検#{run.id}"
    if found.kind == "missing":
        title_id = session.scalar(select(Title.id).where(Title.isbn == found.isbn))
        if title_id is None:
            raise Conflict("蔵書にない本です。選書・発注から受け入れてください。", "The title is not in the catalog; receive it through an order.")
        report = found.report
        add_license(session, title_id, report.model, copies=report.copies, loans=report.loans,
                    until=date.fromisoformat(report.until) if report.until else None, note=note, now=now, cipher=cipher)
    elif found.kind == "extra":
        found.licence.valid_until = now  # lends no more; loans already made run to their due dates
        found.licence.note = f"{found.licence.note} {note}で終了".strip()[:200]
    else:
        _take_report_values(session, found, note, now, cipher)
    session.flush()
    return found


def _take_report_values(session: Session, found: Difference, note: str, now: datetime, cipher) -> None:
    licence, report = found.licence, found.report
    if "copies" in found.fields:
        licence.copies = report.copies
    if "loans" in found.fields:
        licence.loans_remaining = report.loans
        licence.loans_total = max(licence.loans_total or 0, report.loans)
    if "until" in found.fields:
        licence.valid_until = licence_terms.end_of_day(date.fromisoformat(report.until))
    licence.note = f"{licence.note} {note}で修正".strip()[:200]
    session.flush()
    promote_holds(session, licence.title_id, now, cipher)  # more copies or a later end may serve waiting holds
