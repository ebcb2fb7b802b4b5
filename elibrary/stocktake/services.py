"""Stocktaking e-book licences (電子書籍の蔵書点検): differences between the distributor's report and our licences.

Only licences that lend now are ours for the comparison (an expired or used-up licence is history). Per
ISBN the report's entries and our licences are compared:

- ``missing``: the report has it, we hold no licence (fix: add the reported licences); ``unknown-title``
  when the title is not in the catalog at all (import it first: no fix here);
- ``extra``: we hold a licence the report does not list (fix: end our licences now);
- ``copies`` / ``loans`` / ``until``: totals of simultaneous copies, loans remaining, or the latest end
  date differ (fix: take the report's figure).

The differences are computed afresh each time, so a fixed line disappears; every fix is logged in the
stocktake (who, when, before, after) for the auditor's CSV.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.errors import Conflict, InvalidInput, NotFound
from elibrary.lending import licenses as licence_rules
from elibrary.lending import locks
from elibrary.lending.models import License, LicenseModel
from elibrary.lending.policy import TOKYO
from elibrary.lending.supply import add_license, promote_holds
from elibrary.stocktake.models import LicenseAudit
from elibrary.stocktake.parse import ReportEntry, parse_report

KINDS = {
    "missing": ("取次にあり・当館になし", "In the report, not ours"),
    "unknown-title": ("取次にあり・資料が未登録", "In the report, title not in the catalog"),
    "extra": ("当館にあり・取次になし", "Ours, not in the report"),
    "copies": ("同時貸出数が違う", "Copies differ"),
    "loans": ("残り貸出回数が違う", "Loans remaining differ"),
    "until": ("有効期限が違う", "End date differs"),
}
FIXABLE = {"missing", "extra", "copies", "loans", "until"}


@dataclass(frozen=True)
class Difference:
    """One line of the stocktake."""

    isbn: str
    kind: str
    title_id: int | None
    title: str
    ours: str
    theirs: str

    @property
    def fixable(self) -> bool:
        """Whether a one-click fix exists."""
        return self.kind in FIXABLE


def import_report(session: Session, staff_id: int | None, file_name: str, data: bytes) -> LicenseAudit:
    """Parse and keep a report; refuses one with no readable entry."""
    entries, problems = parse_report(data)
    if not entries:
        reason = problems[0] if problems else None
        raise InvalidInput("読み取れるライセンスがありません。" + (reason.reason_ja if reason else ""),
                           "No licence could be read. " + (reason.reason_en if reason else ""), field="file")
    audit = LicenseAudit(created_by=staff_id, file_name=file_name[:200], entries=json.dumps([e.to_json() for e in entries], ensure_ascii=False),
                         problems=json.dumps([[p.line, p.reason_ja, p.reason_en] for p in problems], ensure_ascii=False))
    session.add(audit)
    session.flush()
    return audit


def get(session: Session, audit_id: int) -> LicenseAudit:
    """One stocktake or ``NotFound``."""
    audit = session.get(LicenseAudit, audit_id)
    if audit is None:
        raise NotFound()
    return audit


def entries_of(audit: LicenseAudit) -> list[ReportEntry]:
    """The report's entries."""
    return [ReportEntry.from_json(item) for item in json.loads(audit.entries)]


def _ours(session: Session, now: datetime) -> dict[str, tuple[Title, list[License]]]:
    rows = session.execute(select(Title, License).join(License, License.title_id == Title.id).where(Title.isbn.is_not(None))).all()
    result: dict[str, tuple[Title, list[License]]] = {}
    for title, licence in rows:
        if licence.model != LicenseModel.open and licence.stop_reason(now) is None:
            result.setdefault(title.isbn, (title, []))[1].append(licence)
    return result


def _total(values: list[int | None]) -> int | None:
    return sum(values) if values and all(v is not None for v in values) else None


def _latest(dates) -> str | None:
    return max(dates).isoformat() if dates and all(d is not None for d in dates) else None


def _reported(combine, values: list):
    """The report's figure, or None when the report says nothing about it (every row left it empty)."""
    return combine(values) if any(v is not None for v in values) else None


def _our_until(licences: list[License]) -> str | None:
    return _latest([lic.valid_until.astimezone(TOKYO).date() if lic.valid_until else None for lic in licences])


def differences(session: Session, audit: LicenseAudit, now: datetime) -> list[Difference]:
    """Every difference between the report and our licences that lend now, by ISBN."""
    reported: dict[str, list[ReportEntry]] = {}
    for entry in entries_of(audit):
        reported.setdefault(entry.isbn, []).append(entry)
    ours = _ours(session, now)
    known = dict(session.execute(select(Title.isbn, Title.id).where(Title.isbn.in_(list(reported)))).all()) if reported else {}
    found: list[Difference] = []
    for isbn in sorted(set(reported) | set(ours)):
        theirs, (title, mine) = reported.get(isbn, []), ours.get(isbn, (None, []))
        name = title.title if title is not None else next((e.title for e in theirs if e.title), "")
        if theirs and not mine:
            kind = "missing" if isbn in known else "unknown-title"
            found.append(Difference(isbn, kind, known.get(isbn), name, "-", f"{len(theirs)}"))
            continue
        if mine and not theirs:
            found.append(Difference(isbn, "extra", title.id, name, f"{len(mine)}", "-"))
            continue
        pairs = (("copies", _total([lic.copies for lic in mine]), _reported(_total, [e.copies for e in theirs])),
                 ("loans", _total([lic.loans_remaining for lic in mine]), _reported(_total, [e.loans for e in theirs])),
                 ("until", _our_until(mine), _reported(_latest, [e.until for e in theirs])))
        for kind, our_value, their_value in pairs:
            if their_value is not None and our_value != their_value:
                found.append(Difference(isbn, kind, title.id, name, "-" if our_value is None else str(our_value), str(their_value)))
    return found


def fix(session: Session, audit: LicenseAudit, isbn: str, kind: str, staff_id: int | None, now: datetime) -> Difference:
    """Apply the one-click fix of one line (after checking it still differs); logged in the stocktake."""
    line = next((d for d in differences(session, audit, now) if d.isbn == isbn and d.kind == kind), None)
    if line is None:
        raise Conflict("この差異はもうありません（修正済みか、状況が変わりました）。", "This difference is gone (fixed already, or things changed).")
    if not line.fixable:
        raise Conflict("この差異は自動では直せません。先に資料を登録してください。", "This cannot be fixed here: add the title to the catalog first.")
    theirs = [e for e in entries_of(audit) if e.isbn == isbn]
    if kind == "missing":
        for entry in theirs:
            model = entry.model or ("one-copy" if entry.copies in (None, 1) and entry.loans is None and entry.until is None else
                                    "metered-loans" if entry.loans else "metered-time" if entry.until else "concurrent")
            add_license(session, line.title_id, model, copies=entry.copies if model != "open" else None, loans=entry.loans, until=entry.until,
                        note=f"蔵書点検 {entry.reference}".strip()[:200], now=now)
    else:
        title = locks.lock_title(session, line.title_id)
        mine = sorted(_ours(session, now)[isbn][1], key=lambda lic: lic.id)
        if kind == "extra":
            for licence in mine:
                licence.valid_until = now
        elif kind == "copies":
            _spread(mine, "copies", int(line.theirs), minimum=1)
        elif kind == "loans":
            _spread(mine, "loans_remaining", int(line.theirs), minimum=0)
        elif kind == "until":
            end = licence_rules.end_of_day(datetime.fromisoformat(line.theirs).date())
            for licence in mine:
                licence.valid_until = end
        session.flush()
        promote_holds(session, title.id, now)
    log = json.loads(audit.fixes)
    log.append({"at": now.isoformat(), "by": staff_id, "isbn": isbn, "kind": kind, "before": line.ours, "after": line.theirs})
    audit.fixes = json.dumps(log, ensure_ascii=False)
    session.flush()
    return line


def _spread(licences: list[License], field: str, target: int, *, minimum: int) -> None:
    """Bring the total of ``field`` to ``target``, changing the newest licence first."""
    difference = target - sum(getattr(lic, field) or 0 for lic in licences)
    for licence in reversed(licences):
        current = getattr(licence, field) or 0
        new = max(minimum, current + difference)
        difference -= new - current
        setattr(licence, field, new)
        if difference == 0:
            break
    if difference != 0:
        raise Conflict("この差異は自動では直せません（ライセンスを個別に直してください）。",
                       "This cannot be fixed automatically: edit the licences one by one.")


def recent(session: Session, limit: int = 20) -> list[LicenseAudit]:
    """The latest stocktakes."""
    return list(session.scalars(select(LicenseAudit).order_by(LicenseAudit.id.desc()).limit(limit)))


def fixes_of(audit: LicenseAudit) -> list[dict]:
    """The log of fixes."""
    return json.loads(audit.fixes)


def problems_of(audit: LicenseAudit) -> list[list]:
    """The rows that could not be read: [line, reason_ja, reason_en]."""
    return json.loads(audit.problems)
