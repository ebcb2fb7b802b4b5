"""The one step that writes parsed records into the catalog: matched, validated, each all-or-nothing.

Records are taken in batches. Each batch is matched against the catalog in a few queries (by ISBN,
then by the source's record id), validated with the catalog's own rules (``validate_title_data``,
the same as the admin's form), then written inside one SAVEPOINT. If that savepoint fails, the batch
is written again one record per SAVEPOINT, so a bad record is rejected and every other one lands, and
no title is ever half-written. A record whose fingerprint equals the one stored at its last import is
"unchanged" without being compared field by field, and a ``KnownRecord`` (source bytes whose hash was
stored at the last import) is "unchanged" without even being mapped, so a re-import costs little.
New titles go in with Core multi-row INSERTs (``bulk``), not ORM objects.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from catalog_import import attach
from catalog_import.bulk import insert_rows, insert_titles, title_ids_by_isbn, title_ids_by_record
from catalog_import.models import ImportedRecord
from catalog_import.records import ImportRecord, KnownRecord, ParsedItem, Problem
from catalog_import.tabular import fallback_record_id
from elibrary.catalog.indexing import queue_titles
from elibrary.catalog.isbn import parse_optional_isbn
from elibrary.catalog.models import Contributor, Subject, Title, TitleContributor, TitleStatus
from elibrary.catalog.titles import TitleData, validate_title_data
from elibrary.db import utcnow
from elibrary.errors import DomainError
from elibrary.storage.base import BookStorage, StorageError

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # records without files; those with files go fewer to a batch (``attach.FILE_BATCH``)
KEPT_PROBLEMS = 1000  # shown in a summary; the report file has them all
CONTRIBUTOR_CACHE = 50_000
_TITLE_FIELDS = tuple(f for f in TitleData.__dataclass_fields__ if f not in ("contributors", "subjects", "collections"))


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    dry_run: bool = False
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False
    import_seconds: float = 0.0  # reading and writing records
    index_seconds: float = 0.0  # bringing the search index up to date afterwards

    @property
    def total(self) -> int:
        """Records seen."""
        return self.added + self.updated + self.unchanged + self.rejected

    @property
    def touched(self) -> int:
        """Titles whose search document changed."""
        return self.added + self.updated

    def line(self) -> str:
        """One line for the console."""
        prefix = "dry run: " if self.dry_run else ""
        return f"{prefix}added {self.added}, updated {self.updated}, unchanged {self.unchanged}, rejected {self.rejected}"


@dataclass(eq=False)
class _Pending:
    record: ImportRecord
    isbn: str | None
    key: str | None
    title_id: int | None = None
    imported: ImportedRecord | None = None
    data: object = None  # validated fields (titles._Clean)
    cover_format: str | None = None  # the record's cover, checked before the batch's transaction (``attach.check_cover``)


class Importer:
    """Applies parsed items to the catalog through ``session``; never commits (``on_batch`` may)."""

    def __init__(
        self,
        session: Session,
        storage: BookStorage | None,
        *,
        dry_run: bool = False,
        batch_size: int = BATCH_SIZE,
        on_batch: Callable[[Session], None] | None = None,
        on_problem: Callable[[Problem], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.session = session
        self.storage = storage
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.on_problem = on_problem
        self.progress = progress
        self.summary = ImportSummary(dry_run=dry_run)
        self._contributors: dict[tuple[str, str], int] = {}
        # Titles a changed record of this run was written to: a later ``KnownRecord`` of one of them is mapped
        # after all, so that the file's last word on a title wins as it would without the fast path.
        self._touched: set[int] = set()

    # -- driving ---------------------------------------------------------------------------------
    def run(self, items: Iterable[ParsedItem]) -> ImportSummary:
        """Apply every item; returns the summary."""
        for batch in self._batches(items):
            self._apply_batch(batch)
            if self.on_batch is not None:
                self.on_batch(self.session)
            self.session.expunge_all()  # bounded memory: nothing of a finished batch is kept
            self._contributors = self._contributors if len(self._contributors) < CONTRIBUTOR_CACHE else {}
        return self.summary

    def _batches(self, items: Iterable[ParsedItem], *, counted: bool = True) -> Iterator[list[_Pending | KnownRecord]]:
        """Batches of ``batch_size`` records, or fewer when they carry files (``attach.FILE_BATCH``, ``FILE_BATCH_BYTES``).
        Parsing and checking covers happen here, before the batch's transaction begins."""
        batch: list[_Pending | KnownRecord] = []
        seen: set[str] = set()
        files, file_bytes = 0, 0
        for item in items:
            if counted and self.progress is not None:
                self.progress(1)
            if isinstance(item, KnownRecord) and item.title_id in self._touched:
                item = _read(item)
            if isinstance(item, Problem):
                self.reject(item)
                self.summary.fatal = self.summary.fatal or item.fatal
                continue
            if isinstance(item, KnownRecord):
                pending, marks, weight = item, set(), 0
            else:
                pending = self._pending(item)
                if pending is None:
                    continue
                marks = {m for m in (f"i:{pending.isbn}" if pending.isbn else "", f"k:{pending.key}" if pending.key else "") if m}
                weight = attach.file_bytes(pending.record, pending.cover_format) if self._stores_files() else 0
            # The same book twice in one batch: write what came before, so the second finds the first.
            full = files >= attach.FILE_BATCH or file_bytes >= attach.FILE_BATCH_BYTES
            if len(batch) >= self.batch_size or marks & seen or (weight and full):
                yield batch
                batch, seen, files, file_bytes = [], set(), 0, 0
            batch.append(pending)
            seen |= marks
            files, file_bytes = files + bool(weight), file_bytes + weight
        if batch:
            yield batch

    def _pending(self, record: ImportRecord) -> _Pending | None:
        try:
            isbn = parse_optional_isbn(record.isbn)
        except DomainError as exc:
            self.reject(_problem(record, exc))
            return None
        key = record.source_record_id or (None if isbn else fallback_record_id(record))
        pending = _Pending(record, isbn, key)
        if self._stores_files():
            pending.cover_format = attach.check_cover(record)  # decoding it is slow: not in the transaction
        return pending

    def _stores_files(self) -> bool:
        return not self.dry_run and self.storage is not None

    def reject(self, problem: Problem) -> None:
        """Count and report a rejected record."""
        self.summary.rejected += 1
        if len(self.summary.problems) < KEPT_PROBLEMS:
            self.summary.problems.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)

    # -- one batch -------------------------------------------------------------------------------
    def _apply_batch(self, items: list[_Pending | KnownRecord]) -> None:
        batch = [p for p in items if not isinstance(p, KnownRecord)]
        self._match(batch)
        ready, rehash = [], []
        for pending in batch:
            imported = pending.imported
            if imported is not None and imported.fingerprint == pending.record.fingerprint():
                self.summary.unchanged += 1
                if imported.source_hash != _stored_hash(pending.record):
                    rehash.append({"row_id": imported.id, "hash": _stored_hash(pending.record)})
                continue
            ready.append(pending)
        reread = self._known(items, {id(p) for p in ready})
        if rehash and not self.dry_run:
            # Unchanged, but hashed by an older mapping or before hashes were kept: next time it is a KnownRecord.
            table = ImportedRecord.__table__
            self.session.execute(update(table).where(table.c.id == bindparam("row_id")).values(source_hash=bindparam("hash")), rehash)
        if ready:
            self._apply_ready(ready)
        for sub in self._batches(reread, counted=False):
            self._apply_batch(sub)

    def _known(self, items: list[_Pending | KnownRecord], ready: set[int]) -> list[ParsedItem]:
        """Count the batch's ``KnownRecord``s unchanged, but map those that follow a write to their title."""
        touched, reread = self._touched, []
        for item in items:
            if isinstance(item, KnownRecord):
                if item.title_id in touched:
                    reread.append(_read(item))
                else:
                    self.summary.unchanged += 1
            elif id(item) in ready and item.title_id:
                touched.add(item.title_id)
        return reread

    def _apply_ready(self, ready: list[_Pending]) -> None:
        titles = self._load_titles([p.title_id for p in ready if p.title_id])
        valid = [p for p in ready if self._validate(p, titles.get(p.title_id))]
        if not valid:
            return
        try:
            self._ensure_contributors(valid)
        except SQLAlchemyError:
            log.info("contributors of a batch could not be created together; writing its records one by one")
            self._contributors = {}
            self._apply_one_by_one(valid)
            return
        outcomes = None
        fresh = [p for p in valid if p.title_id is None and not p.record.withdrawn and not p.record.file_path and not p.record.cover_image]
        fresh_ids = {id(p) for p in fresh}
        others = [p for p in valid if id(p) not in fresh_ids]
        try:
            with self.session.begin_nested():
                outcomes = [self._write(p, titles.get(p.title_id)) for p in others]
                outcomes += self._insert_new(fresh)
        except (SQLAlchemyError, DomainError, StorageError, OSError) as exc:
            log.info("batch write failed (%s); writing its records one by one", type(exc).__name__)
            self._contributors = {}
            outcomes = None
        if outcomes is None:
            self._apply_one_by_one(valid)
            return
        for outcome in outcomes:
            self._count(outcome)

    def _apply_one_by_one(self, valid: list[_Pending]) -> None:
        for pending in valid:
            try:
                with self.session.begin_nested():
                    self._ensure_contributors([pending])
                    title = self.session.get(Title, pending.title_id) if pending.title_id else None
                    imported = self._imported_for(pending.title_id, pending.record.source) if pending.title_id else None
                    pending.imported = imported
                    outcome = self._write(pending, title)
            except (SQLAlchemyError, DomainError, StorageError, OSError) as exc:
                self._contributors = {}
                self.reject(_problem(pending.record, exc))
                continue
            self._count(outcome)

    def _count(self, outcome: str) -> None:
        setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)

    # -- matching --------------------------------------------------------------------------------
    def _match(self, batch: list[_Pending]) -> None:
        session = self.session
        by_isbn = title_ids_by_isbn(session, {p.isbn for p in batch if p.isbn})
        by_key: dict[tuple[str, str], int] = {}
        for source, keys in _keys_by_source((p.record.source, p.key) for p in batch if p.key).items():
            by_key.update({(source, k): i for k, i in title_ids_by_record(session, source, keys).items()})
            # Per source as well, for the same reason (see ``title_ids_by_record``).
            rows = session.execute(select(ImportedRecord.source_record_id, ImportedRecord.title_id)
                                   .where(ImportedRecord.source == source, ImportedRecord.source_record_id.in_(keys))).all()
            for k, i in rows:
                by_key.setdefault((source, k), i)
        for pending in batch:
            pending.title_id = by_isbn.get(pending.isbn) if pending.isbn else None
            if pending.title_id is None and pending.key:
                pending.title_id = by_key.get((pending.record.source, pending.key))
        ids = {p.title_id for p in batch if p.title_id}
        imported = {}
        if ids:
            for row in session.scalars(select(ImportedRecord).where(ImportedRecord.title_id.in_(ids))):
                imported[(row.title_id, row.source)] = row
        for pending in batch:
            pending.imported = imported.get((pending.title_id, pending.record.source)) if pending.title_id else None

    def _imported_for(self, title_id: int, source: str) -> ImportedRecord | None:
        return self.session.scalar(select(ImportedRecord).where(ImportedRecord.title_id == title_id, ImportedRecord.source == source))

    def _load_titles(self, ids: list[int]) -> dict[int, Title]:
        if not ids:
            return {}
        stmt = select(Title).where(Title.id.in_(ids)).options(
            selectinload(Title.contributors).joinedload(TitleContributor.contributor), selectinload(Title.subjects)
        )
        return {t.id: t for t in self.session.scalars(stmt)}

    # -- validation ------------------------------------------------------------------------------
    def _validate(self, pending: _Pending, title: Title | None) -> bool:
        record = pending.record
        if record.withdrawn:
            return True
        base = {name: getattr(title, name) for name in _TITLE_FIELDS} if title is not None else {}
        given = {name: getattr(record, name) for name in _TITLE_FIELDS if getattr(record, name, None) is not None}
        given["isbn"] = pending.isbn if pending.isbn else base.get("isbn")
        given.pop("source", None)
        given.pop("source_record_id", None)
        if title is None or not title.source_record_id:
            given["source"], given["source_record_id"] = record.source, pending.key
        isbn = given.pop("isbn")
        data = TitleData(**{**base, **given, "isbn": None})
        data.contributors = list(record.contributors or ())
        data.subjects = list(record.subjects or ())
        try:
            with self.session.no_autoflush:
                pending.data = validate_title_data(self.session, data, current=title)
        except DomainError as exc:
            self.reject(_problem(record, exc))
            return False
        # The ISBN was normalised by the catalog's own ``parse_optional_isbn`` and matched against every
        # title before validation; checking it again per record would cost one query each.
        pending.data.fields["isbn"] = isbn
        return True

    # -- writing ---------------------------------------------------------------------------------
    def _ensure_contributors(self, batch: list[_Pending]) -> None:
        wanted = {(c.name, c.reading) for p in batch if p.data is not None and p.record.contributors is not None for c in p.data.contributors}
        missing = wanted - self._contributors.keys()
        if not missing:
            return
        names = sorted({name for name, _ in missing})
        for start in range(0, len(names), 500):
            rows = self.session.execute(select(Contributor.id, Contributor.name, Contributor.name_reading)
                                        .where(Contributor.name.in_(names[start:start + 500]))).all()
            for cid, name, reading in rows:
                self._contributors[(name, reading)] = cid
        new = [Contributor(name=name, name_reading=reading) for name, reading in sorted(missing - self._contributors.keys())]
        if new:
            with self.session.begin_nested():
                self.session.add_all(new)
            for contributor in new:
                self._contributors[(contributor.name, contributor.name_reading)] = contributor.id

    def _write(self, pending: _Pending, title: Title | None) -> str:
        """Write one record; returns ``added``, ``updated`` or ``unchanged``."""
        record, clean = pending.record, pending.data
        if record.withdrawn:
            outcome = "unchanged"
            if title is not None and title.status != TitleStatus.withdrawn:
                title.status = TitleStatus.withdrawn
                outcome = "updated"
            if title is not None:
                self._remember(pending, title)
            return outcome
        created = title is None
        changed = created
        if created:
            title = Title(**clean.fields)
            self.session.add(title)
        else:
            for name, value in clean.fields.items():
                if getattr(title, name) != value:
                    setattr(title, name, value)
                    changed = True
        if record.contributors is not None:
            changed |= self._set_contributors(title, clean.contributors, created)
        if record.subjects is not None:
            changed |= self._set_subjects(title, clean.subjects, created)
        if self._stores_files():
            changed |= attach.attach_files(self.session, self.storage, record, pending.cover_format, title)
        self._remember(pending, title)
        return "added" if created else ("updated" if changed else "unchanged")

    def _insert_new(self, batch: list[_Pending]) -> list[str]:
        """Add new titles (no files) with a few multi-row INSERTs instead of the unit of work: the fast path."""
        if not batch:
            return []
        session = self.session
        ids = insert_titles(session, [dict(p.data.fields) for p in batch])
        credits, subjects, imported = [], [], []
        now = utcnow()
        for title_id, pending in zip(ids, batch, strict=True):
            record, clean = pending.record, pending.data
            wanted = dict.fromkeys((c.name, c.reading, c.role) for c in clean.contributors) if record.contributors is not None else {}
            credits += [{"title_id": title_id, "contributor_id": self._contributors[(name, reading)], "role": role, "position": position}
                        for position, (name, reading, role) in enumerate(wanted)]
            terms = dict.fromkeys((s.scheme, s.term, s.reading) for s in clean.subjects) if record.subjects is not None else {}
            subjects += [{"title_id": title_id, "scheme": scheme, "term": term, "reading": reading} for scheme, term, reading in terms]
            imported.append({"title_id": title_id, "source": record.source, "source_record_id": pending.key,
                             "fingerprint": record.fingerprint(), "source_hash": _stored_hash(record),
                             "cover_url": (record.cover_url or "")[:1000], "supply": _supply(record), "imported_at": now})
        insert_rows(session, TitleContributor, credits)
        insert_rows(session, Subject, subjects)
        insert_rows(session, ImportedRecord, imported)
        queue_titles(session, ids)
        return ["added"] * len(ids)

    def _set_contributors(self, title: Title, credits, created: bool) -> bool:
        wanted = [(c.name, c.reading, c.role) for c in credits]
        if not created and [(tc.contributor.name, tc.contributor.name_reading, tc.role) for tc in title.contributors] == wanted:
            return False
        title.contributors = [
            TitleContributor(contributor_id=self._contributors[(name, reading)], role=role, position=position)
            for position, (name, reading, role) in enumerate(dict.fromkeys(wanted))
        ]
        return True

    def _set_subjects(self, title: Title, subjects, created: bool) -> bool:
        wanted = list(dict.fromkeys((s.scheme, s.term, s.reading) for s in subjects))
        if not created and [(s.scheme, s.term, s.reading) for s in title.subjects] == wanted:
            return False
        title.subjects = [Subject(scheme=scheme, term=term, reading=reading) for scheme, term, reading in wanted]
        return True

    def _remember(self, pending: _Pending, title: Title) -> None:
        record = pending.record
        imported = pending.imported
        if imported is None:
            imported = ImportedRecord(source=record.source, title=title)
            self.session.add(imported)
        imported.source_record_id = pending.key
        imported.fingerprint = record.fingerprint()
        imported.source_hash = _stored_hash(record)
        imported.cover_url = (record.cover_url or "")[:1000]
        imported.supply = _supply(record)
        imported.imported_at = utcnow()


def known_hashes(session: Session, source: str) -> dict[str, int]:
    """The source hashes stored by earlier imports of ``source``, with their titles (for ``KnownRecord``)."""
    rows = session.execute(select(ImportedRecord.source_hash, ImportedRecord.title_id)
                           .where(ImportedRecord.source == source, ImportedRecord.source_hash.is_not(None)))
    return dict(rows.all())  # source hash -> title id (a Result has keys(): dict() would read it as a mapping)


def _keys_by_source(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for source, key in pairs:
        grouped.setdefault(source, set()).add(key)
    return grouped


def _stored_hash(record: ImportRecord) -> str | None:
    # A cover read from a file beside the feed can change (or appear) while the feed's bytes do not.
    local_cover = record.cover_image is not None or (record.cover_url and "://" not in record.cover_url)
    return None if local_cover else record.source_hash


def _read(known: KnownRecord) -> ParsedItem:
    item = known.read()
    if isinstance(item, Problem):
        return replace(item, position=known.position)
    if isinstance(item, ImportRecord):
        item.position = known.position
    return item


def _supply(record: ImportRecord) -> dict:
    prices = [{"amount": p.amount, "currency": p.currency, "price_type": p.price_type} for p in record.prices]
    return {"prices": prices, "availability": record.availability} if prices or record.availability else {}


def _problem(record: ImportRecord, exc: Exception) -> Problem:
    """A rejection reason from an exception raised while validating or writing ``record``."""
    if isinstance(exc, DomainError):
        ja, en = exc.message_ja, exc.message_en
        field_name = str(exc.detail.get("field", ""))
    elif isinstance(exc, SQLAlchemyError):
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        ja = f"データベースに書き込めませんでした（{reason}）。値の長さや重複を確認してください。"
        en = f"The record could not be written ({reason}); check value lengths and duplicates."
        field_name = ""
    else:
        ja = f"ファイルを保存できませんでした（{type(exc).__name__}）。"
        en = f"A file of the record could not be stored ({type(exc).__name__}: {str(exc)[:200]})."
        field_name = ""
    return Problem(record.position, ja, en, record_id=record.source_record_id or "", field=field_name, title=record.title or "")

