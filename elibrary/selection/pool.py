"""The candidate pool (選書候補): writing a distributor's file into it, and matching "the same work".

A pool file never touches the catalog: titles the library owns are only *recognised* (same ISBN, an ONIX
``RelatedProduct`` link, or the same normalised title and author reading), with the reason kept so the
page can say why. Importing a file again updates its offers; an offer of a distributor that the new file
no longer carries for that title is flagged withdrawn, never deleted (a list may hold it).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload

from elibrary.catalog.models import Contributor, Title, TitleContributor
from elibrary.search.analysis import joined, normalize, particle_variant
from elibrary.selection import grams
from elibrary.selection.items import PoolItem, PoolProblem, PoolRecord
from elibrary.selection.models import PoolOffer, PoolTitle

BATCH = 500
OWNED_REASONS = {
    "isbn": ("同じISBN", "Same ISBN"),
    "related": ("他の版・形態（関連商品）", "Another edition or format (related product)"),
    "work": ("同じ書名・著者ヨミ", "Same title and author reading"),
}
_PUNCT = re.compile(r"[\W_]+")


def work_key(title: str, title_reading: str, author: str) -> str:
    """The normalised title reading (else title) and first author (reading): one key per work."""
    left = _PUNCT.sub("", normalize(title_reading or title))
    right = _PUNCT.sub("", normalize(author))
    return f"{left}|{right}"[:300] if left else ""


@dataclass
class PoolSummary:
    """What a pool import did."""

    titles_added: int = 0
    titles_updated: int = 0
    offers_added: int = 0
    offers_updated: int = 0
    offers_withdrawn: int = 0
    rejected: int = 0
    skipped_offers: int = 0
    problems: list[PoolProblem] = field(default_factory=list)
    fatal: bool = False
    seconds: float = 0.0
    # Offers seen so far in this run per title: a title whose rows straddle two batches keeps them all.
    seen: dict[str, set] = field(default_factory=dict, repr=False)

    def line(self) -> str:
        """One line for the command and the page."""
        return (f"pool: {self.titles_added} titles added, {self.titles_updated} updated; offers {self.offers_added} added, "
                f"{self.offers_updated} updated, {self.offers_withdrawn} withdrawn; {self.skipped_offers} offers skipped, "
                f"{self.rejected} records rejected")


def import_pool(session: Session, items: Iterable[PoolItem | PoolProblem], *, on_batch: Callable[[Session], None] | None = None) -> PoolSummary:
    """Write parsed pool items in batches (``on_batch`` may commit each); returns the summary."""
    started = time.perf_counter()
    summary = PoolSummary()
    owned = _OwnedIndex(session)
    batch: list[PoolItem] = []
    for item in items:
        if isinstance(item, PoolProblem):
            summary.rejected += 1
            summary.fatal = summary.fatal or item.fatal
            summary.problems.append(item)
            continue
        summary.skipped_offers += len(item.skipped)
        summary.problems.extend(item.skipped)
        batch.append(item)
        if len(batch) >= BATCH:
            _write(session, batch, owned, summary)
            batch = []
            if on_batch:
                on_batch(session)
    if batch:
        _write(session, batch, owned, summary)
        if on_batch:
            on_batch(session)
    summary.seconds = time.perf_counter() - started
    return summary


def _write(session: Session, batch: list[PoolItem], owned: "_OwnedIndex", summary: PoolSummary) -> None:
    """Update the batch's known titles through the ORM; insert new ones and their offers in multi-row INSERTs."""
    by_key: dict[str, PoolItem] = {}
    offers_by_key: dict[str, list] = {}
    for item in batch:
        key = item.key
        by_key[key] = item  # the last row of a title wins its metadata; offers accumulate
        offers_by_key.setdefault(key, []).extend(item.offers)
    existing = {p.record_key: p for p in session.scalars(
        select(PoolTitle).where(PoolTitle.record_key.in_(list(by_key))).options(selectinload(PoolTitle.offers)))}
    new_rows = []
    for key, item in by_key.items():
        pool_title = existing.get(key)
        if pool_title is None:
            new_rows.append({"record_key": key, **_values(item, owned)})
            continue
        if key not in summary.seen:  # not merely the rest of a title begun in the previous batch
            summary.titles_updated += 1
        for name, value in _values(item, owned).items():
            setattr(pool_title, name, value)
        _offers(pool_title, offers_by_key[key], item.record.withdrawn, summary, summary.seen.setdefault(key, set()))
    session.flush()
    grams.refresh(session, [p.id for p in existing.values()])
    if not new_rows:
        return
    ids = dict(session.execute(insert(PoolTitle).returning(PoolTitle.record_key, PoolTitle.id), new_rows).all())
    grams.refresh(session, ids.values())
    summary.titles_added += len(new_rows)
    offer_rows = {}
    for key in ids:
        seen = summary.seen.setdefault(key, set())
        for terms in offers_by_key[key]:
            seen.add((terms.distributor, terms.offer_code))
            offer_rows[(key, terms.distributor, terms.offer_code)] = {
                "pool_title_id": ids[key], "distributor": terms.distributor, "offer_code": terms.offer_code, "model": terms.model,
                "copies": terms.copies, "loans": terms.loans, "term_months": terms.term_months, "price": terms.price,
                "tax_rate": terms.tax_rate, "withdrawn": by_key[key].record.withdrawn}
    if offer_rows:
        session.execute(insert(PoolOffer), list(offer_rows.values()))
        summary.offers_added += len(offer_rows)


def _values(item: PoolItem, owned: "_OwnedIndex") -> dict:
    """A pool title's columns from its import record."""
    record = item.record
    credits = record.contributors or []
    authors = "; ".join(c.name for c in credits)
    readings = " ".join(c.reading for c in credits if c.reading)
    title, title_reading = (record.title or "")[:500], (record.title_reading or "")[:500]
    ndc = (record.ndc or "")[:20]
    first = credits[0] if credits else None
    values = {
        "isbn": record.isbn, "title": title, "title_reading": title_reading, "authors": authors[:500],
        "author_reading": readings[:500], "publisher": (record.publisher or "")[:300],
        "published_on": record.published_on if isinstance(record.published_on, date) else None,
        "ndc": ndc, "ndc_class": ndc[:1] if ndc[:1].isdigit() else "",
        "audience": record.audience if record.audience in ("children", "ya", "general") else "general",
        "work_key": work_key(title, title_reading, (first.reading or first.name) if first else ""),
        "related_isbns": list(item.related_isbns),
        "record": record_json(record),
    }
    values["search_text"] = search_text(values["record"])
    values["owned_title_id"], values["owned_reason"] = owned.match(values["isbn"], values["related_isbns"], values["work_key"])
    return values


def _offers(pool_title: PoolTitle, offers, withdrawn: bool, summary: PoolSummary, seen: set) -> None:
    current = {(o.distributor, o.offer_code): o for o in pool_title.offers}
    for terms in offers:
        key = (terms.distributor, terms.offer_code)
        seen.add(key)
        offer = current.get(key)
        if offer is None:
            offer = PoolOffer(distributor=terms.distributor, offer_code=terms.offer_code)
            pool_title.offers.append(offer)
            current[key] = offer
            summary.offers_added += 1
        else:
            summary.offers_updated += 1
        offer.model, offer.copies, offer.loans = terms.model, terms.copies, terms.loans
        offer.term_months, offer.price, offer.tax_rate = terms.term_months, terms.price, terms.tax_rate
        offer.withdrawn = withdrawn
    distributors = {d for d, _ in seen}
    for key, offer in current.items():
        # The distributor sent this title again without this offer: it is no longer sold.
        if key not in seen and (key[0] in distributors or withdrawn) and not offer.withdrawn:
            offer.withdrawn = True
            summary.offers_withdrawn += 1


def search_text(record: dict) -> str:
    """What a pool search matches, from a title's ``record_json``: the catalog's ``normalize`` of the title,
    readings, names, publisher and ISBN as written, then of what people type without the spaces and marks
    (夏目漱石, なつめそうせき, えりっくかーる, わがはいわねこである) and of a reading with its particles
    as written (わがはいはねこである: ``particle_variant``).

    Each part stays a word of its own (parts are joined by spaces, and a query word holds none), so a
    name is joined only with itself: 漱石森 finds no book by 夏目 漱石 and 森 鴎外.
    """
    names = [c[0] for c in record.get("contributors") or () if c and c[0]]
    readings = [c[1] for c in record.get("contributors") or () if c and len(c) > 1 and c[1]]
    title_readings = [r for r in (record.get("title_reading"), record.get("series_reading")) if r]
    as_written = [record.get("title"), record.get("subtitle"), record.get("title_reading"), record.get("series_title"),
                  record.get("series_reading"), "; ".join(names), " ".join(readings), record.get("publisher"), record.get("isbn")]
    extra = []
    for text in [record.get("title"), record.get("subtitle"), record.get("series_title"), *names, *readings, *title_readings]:
        if text and joined(text) != text:
            extra.append(joined(text))
    for reading in title_readings:
        variant = particle_variant(reading)
        if variant:
            extra += [variant, joined(variant)]
    parts = [normalize(part) for part in (*as_written, *extra) if part]
    return " ".join(dict.fromkeys(part for part in parts if part))


def record_json(record: PoolRecord) -> dict:
    """What the catalog needs to create the title when an order is received."""
    return {
        "title": record.title, "title_reading": record.title_reading, "subtitle": record.subtitle,
        "series_title": record.series_title, "series_reading": record.series_reading, "volume": record.volume,
        "publisher": record.publisher, "isbn": record.isbn, "ndc": record.ndc, "language": record.language,
        "audience": record.audience, "description": record.description, "page_count": record.page_count,
        "published_on": record.published_on.isoformat() if isinstance(record.published_on, date) else record.published_on,
        "contributors": [[c.name, c.reading, c.role] for c in record.contributors or ()],
        "subjects": [[s.term, s.reading, s.scheme] for s in record.subjects or ()],
        "source": record.source, "source_record_id": record.source_record_id,
    }


class _OwnedIndex:
    """The catalog's ISBNs and work keys, read once per import, to recognise owned works."""

    def __init__(self, session: Session) -> None:
        self.by_isbn: dict[str, int] = {}
        self.by_work: dict[str, int] = {}
        first_credit = (select(TitleContributor.title_id, func.min(TitleContributor.position).label("position"))
                        .group_by(TitleContributor.title_id).subquery())
        rows = session.execute(
            select(Title.id, Title.isbn, Title.title, Title.title_reading, Contributor.name, Contributor.name_reading)
            .outerjoin(first_credit, first_credit.c.title_id == Title.id)
            .outerjoin(TitleContributor, (TitleContributor.title_id == Title.id) & (TitleContributor.position == first_credit.c.position))
            .outerjoin(Contributor, Contributor.id == TitleContributor.contributor_id))
        for title_id, isbn, title, reading, name, name_reading in rows:
            if isbn:
                self.by_isbn[isbn] = title_id
            key = work_key(title, reading, name_reading or name or "")
            if key:
                self.by_work.setdefault(key, title_id)

    def match(self, isbn: str | None, related_isbns, key: str) -> tuple[int | None, str]:
        """The owned title and the reason ("isbn", "related", "work"), or (None, "")."""
        if isbn and isbn in self.by_isbn:
            return self.by_isbn[isbn], "isbn"
        for other in related_isbns or ():
            if other in self.by_isbn:
                return self.by_isbn[other], "related"
        if key and key in self.by_work:
            return self.by_work[key], "work"
        return None, ""


def refresh_owned(session: Session, pool_title_ids: Iterable[int] | None = None) -> None:
    """Recompute "already owned" (after receiving an order, or after catalog changes)."""
    owned = _OwnedIndex(session)
    query = select(PoolTitle)
    if pool_title_ids is not None:
        query = query.where(PoolTitle.id.in_(list(pool_title_ids)))
    for pool_title in session.scalars(query):
        pool_title.owned_title_id, pool_title.owned_reason = owned.match(pool_title.isbn, pool_title.related_isbns, pool_title.work_key)
    session.flush()
