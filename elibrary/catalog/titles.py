"""The title record (書誌): ``TitleData``, its validation, and creating or updating a title from it.

The one place a title is written from, shared by the catalog's own pages and commands (``services``),
the import pipeline (``catalog_import``) and selection's receiving of an order; ``services`` re-exports it.
Plain functions taking a ``Session``; they flush, never commit. Every input passes through
``validate_title_data`` before anything is added to the session, so an error leaves nothing half-stored.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elibrary.catalog.credits import ContributorCredit, SubjectEntry
from elibrary.catalog.isbn import parse_optional_isbn
from elibrary.catalog.models import ROLE_LABELS, Audience, BookFormat, Collection, Contributor, Subject, Title, TitleContributor
from elibrary.catalog.ndc import normalize_ndc
from elibrary.catalog.readings import normalize_reading
from elibrary.errors import Conflict, InvalidInput, NotFound

ACCESSIBILITY_FEATURES = (
    "readAloud", "ruby", "largePrint", "alternativeText", "tableOfContents", "displayTransformability",
    "highContrastDisplay", "synchronizedAudioText", "ttsMarkup",
)  # schema.org accessibilityFeature values we show
MAX_AGE = 120
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass
class TitleData:
    """Everything a title record holds, as given by a form, an import or the demo (validated in one place)."""

    title: str
    title_reading: str = ""
    subtitle: str = ""
    series_title: str = ""
    series_reading: str = ""
    volume: str = ""
    publisher: str = ""
    published_on: date | str | None = None
    isbn: str | None = None
    ndc: str = ""
    language: str = "ja"
    audience: Audience | str = Audience.general
    age_min: int | None = None
    age_max: int | None = None
    description: str = ""
    format: BookFormat | str = BookFormat.epub_reflowable
    page_count: int | None = None
    page_progression: str = ""  # "ltr" or "rtl"; blank: rtl for Japanese fixed layout, else ltr
    accessibility: Sequence[str] = ()
    contributors: Sequence[ContributorCredit] = ()
    subjects: Sequence[SubjectEntry | str] = ()
    collections: Sequence[str] = ()  # collection codes
    source: str = "manual"
    source_record_id: str | None = None


@dataclass
class _Clean:
    """Validated title fields, ready to be written."""

    fields: dict
    contributors: list[ContributorCredit] = field(default_factory=list)
    subjects: list[SubjectEntry] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)


def _text(value: str | None, name: str, label: str, *, limit: int, required: bool = False) -> str:
    text = unicodedata.normalize("NFC", (value or "")).strip()
    if required and not text:
        raise InvalidInput(f"{label}を入力してください。", f"The {name.replace('_', ' ')} is required.", field=name)
    if len(text) > limit:
        raise InvalidInput(f"{label}は{limit}文字以内にしてください。", f"The {name.replace('_', ' ')} is too long (max {limit}).", field=name)
    return text


def _enum_value(cls, value, name: str, label: str):
    try:
        return value if isinstance(value, cls) else cls(str(value).strip())
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidInput(f"{label}の値が正しくありません（{allowed}）。", f"Unknown {name}; use one of: {allowed}.", field=name) from None


def _date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?", text)
    try:
        if not match:
            raise ValueError
        year, month, day = (int(g) if g else 1 for g in match.groups())
        return date(year, month, day)
    except ValueError:
        raise InvalidInput(
            f"出版日「{text[:20]}」は正しくありません（例: 2024-04-01）。", f"Publication date {text[:20]!r} is not valid (e.g. 2024-04-01).",
            field="published_on",
        ) from None


def _int(value, name: str, label: str, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(unicodedata.normalize("NFKC", value) if isinstance(value, str) else value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise InvalidInput(f"{label}は{low}から{high}の数で入力してください。",
                           f"The {name.replace('_', ' ')} must be a number from {low} to {high}.", field=name)
    return number


def validate_title_data(session: Session, data: TitleData, *, current: Title | None = None) -> _Clean:
    """Check and normalise ``data``; raises ``InvalidInput``/``Conflict`` before anything is written."""
    audience = _enum_value(Audience, data.audience, "audience", "対象")
    book_format = _enum_value(BookFormat, data.format, "format", "形式")
    age_min = _int(data.age_min, "age_min", "対象年齢（下限）", 0, MAX_AGE)
    age_max = _int(data.age_max, "age_max", "対象年齢（上限）", 0, MAX_AGE)
    if age_min is not None and age_max is not None and age_min > age_max:
        raise InvalidInput("対象年齢の下限が上限を超えています。", "The minimum age is above the maximum age.", field="age_min")
    language = unicodedata.normalize("NFKC", data.language or "ja").strip()
    if not _LANGUAGE.match(language):
        raise InvalidInput("言語コードが正しくありません（例: ja, en）。", "The language code is not valid (e.g. ja, en).", field="language")
    progression = (data.page_progression or "").strip().lower() or ("rtl" if book_format == BookFormat.epub_fixed and language == "ja" else "ltr")
    if progression not in ("ltr", "rtl"):
        raise InvalidInput("ページ送りの方向は ltr または rtl です。", "Page progression must be ltr or rtl.", field="page_progression")
    unknown = [f for f in data.accessibility if f not in ACCESSIBILITY_FEATURES]
    if unknown:
        raise InvalidInput(f"アクセシビリティ項目が不明です: {unknown[0]}", f"Unknown accessibility feature: {unknown[0]}", field="accessibility")
    isbn = parse_optional_isbn(data.isbn)
    if isbn is not None:
        other = session.scalar(select(Title).where(Title.isbn == isbn))
        if other is not None and other is not current:
            raise Conflict(f"ISBN {isbn} の資料はすでに登録されています（ID {other.id}）。",
                           f"A title with ISBN {isbn} already exists (id {other.id}).", field="isbn")
    fields = dict(
        title=_text(data.title, "title", "タイトル", limit=500, required=True),
        title_reading=normalize_reading(data.title_reading, field="title_reading", label="タイトルのヨミ"),
        subtitle=_text(data.subtitle, "subtitle", "サブタイトル", limit=500),
        series_title=_text(data.series_title, "series_title", "シリーズ名", limit=500),
        series_reading=normalize_reading(data.series_reading, field="series_reading", label="シリーズ名のヨミ"),
        volume=_text(data.volume, "volume", "巻次", limit=50),
        publisher=_text(data.publisher, "publisher", "出版者", limit=300),
        published_on=_date(data.published_on),
        isbn=isbn,
        ndc=normalize_ndc(data.ndc),
        language=language,
        audience=audience,
        age_min=age_min,
        age_max=age_max,
        description=_text(data.description, "description", "内容紹介", limit=20000),
        format=book_format,
        page_count=_int(data.page_count, "page_count", "ページ数", 1, 100000),
        page_progression=progression,
        accessibility=list(dict.fromkeys(data.accessibility)),
        source=_text(data.source, "source", "登録元", limit=40) or "manual",
        source_record_id=_text(data.source_record_id, "source_record_id", "登録元ID", limit=200) or None,
    )
    return _Clean(
        fields=fields,
        contributors=[_clean_credit(c) for c in data.contributors],
        subjects=list({(s.scheme, s.term): s for s in map(_clean_subject, data.subjects)}.values()),
        collections=[collection_by_code(session, code) for code in dict.fromkeys(data.collections)],
    )


def _clean_credit(credit: ContributorCredit) -> ContributorCredit:
    if credit.role not in ROLE_LABELS:
        raise InvalidInput(f"著者の役割「{credit.role}」は不明です。", f"Unknown contributor role {credit.role!r}.", field="contributors")
    name = _text(credit.name, "contributor", "著者名", limit=300, required=True)
    reading = normalize_reading(credit.reading, field="contributors", label=f"「{name}」のヨミ")
    return ContributorCredit(name=name, reading=reading, role=credit.role)


def _clean_subject(subject: SubjectEntry | str) -> SubjectEntry:
    if isinstance(subject, str):
        subject = SubjectEntry(subject)
    term = _text(subject.term, "subjects", "件名", limit=300, required=True)
    reading = normalize_reading(subject.reading, field="subjects", label=f"件名「{term}」のヨミ")
    return SubjectEntry(term=term, reading=reading, scheme=subject.scheme or "keyword")


def _apply(session: Session, title: Title, clean: _Clean) -> None:
    for name, value in clean.fields.items():
        setattr(title, name, value)
    wanted = [(find_or_create_contributor(session, c.name, c.reading), c.role) for c in clean.contributors]
    existing = {(tc.contributor_id, tc.role): tc for tc in title.contributors}
    kept = []
    for position, (contributor, role) in enumerate(wanted):
        credit = existing.pop((contributor.id, role), None) or TitleContributor(contributor=contributor, role=role)
        credit.position = position
        kept.append(credit)
    title.contributors = kept
    current = {(s.scheme, s.term): s for s in title.subjects}
    subjects = []
    for entry in clean.subjects:
        row = current.pop((entry.scheme, entry.term), None) or Subject(scheme=entry.scheme, term=entry.term)
        row.reading = entry.reading
        subjects.append(row)
    title.subjects = subjects
    title.collections = clean.collections


def create_title(session: Session, data: TitleData) -> Title:
    """Add a title (書誌登録); raises ``InvalidInput`` or ``Conflict`` (duplicate ISBN) without storing anything."""
    clean = validate_title_data(session, data)
    title = Title()
    _apply(session, title, clean)
    session.add(title)
    session.flush()
    return title


def update_title(session: Session, title: Title, data: TitleData) -> Title:
    """Replace the record of ``title`` with ``data`` (use ``title_data_of`` to start from the current values)."""
    clean = validate_title_data(session, data, current=title)
    _apply(session, title, clean)
    session.flush()
    return title


def title_data_of(title: Title) -> TitleData:
    """The ``TitleData`` of an existing title, to edit with ``dataclasses.replace`` and pass to ``update_title``."""
    return TitleData(
        **{f.name: getattr(title, f.name) for f in dataclasses.fields(TitleData) if f.name not in ("contributors", "subjects", "collections")},
        contributors=tuple(ContributorCredit(tc.contributor.name, tc.contributor.name_reading, tc.role) for tc in title.contributors),
        subjects=tuple(SubjectEntry(s.term, s.reading, s.scheme) for s in title.subjects),
        collections=tuple(c.code for c in title.collections),
    )


def find_or_create_contributor(session: Session, name: str, reading: str = "") -> Contributor:
    """The contributor with this name and reading, created if new (names alone are ambiguous)."""
    name = _text(name, "contributor", "著者名", limit=300, required=True)
    reading = normalize_reading(reading, field="contributors", label=f"「{name}」のヨミ")
    lookup = select(Contributor).where(Contributor.name == name, Contributor.name_reading == reading)
    contributor = session.scalar(lookup)
    if contributor is None:
        try:
            with session.begin_nested():  # another transaction may add the same person meanwhile
                contributor = Contributor(name=name, name_reading=reading)
                session.add(contributor)
        except IntegrityError:
            contributor = session.scalar(lookup)
            if contributor is None:
                raise
    return contributor


def collection_by_code(session: Session, code: str) -> Collection:
    """The collection with this code; ``InvalidInput`` when unknown."""
    collection = session.scalar(select(Collection).where(Collection.code == code))
    if collection is None:
        raise InvalidInput(f"コレクション「{code}」は登録されていません。", f"Unknown collection {code!r}.", field="collections")
    return collection


def find_title(session: Session, key: str) -> Title:
    """The title named by an ISBN (10 or 13 digits, hyphens allowed) or by its id."""
    raw = key.strip().replace("-", "").replace(" ", "").upper()
    isbn = _isbn13(raw)
    if isbn is not None:
        title = session.scalar(select(Title).where(Title.isbn == isbn))
        if title is not None:
            return title
    if raw.isdigit() and len(raw) < 10:
        title = session.get(Title, int(raw))
        if title is not None:
            return title
    raise NotFound(f"本が見つかりません: {key}", f"No title with ISBN or id {key}")


def _isbn13(raw: str) -> str | None:
    if len(raw) == 13 and raw.isdigit():
        return raw
    if len(raw) == 10 and raw[:9].isdigit() and (raw[9].isdigit() or raw[9] == "X"):
        body = "978" + raw[:9]
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
        return body + str(check)
    return None
