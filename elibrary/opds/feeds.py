"""What the OPDS feeds contain, independent of OPDS 1 or 2: navigation, acquisition pages, facets, search.

The renderers (``v1``, ``v2``) turn these plain objects into Atom or JSON. Browsing feeds are read from
the database (newest first, which needs only the ``created_at`` index on a large catalog); search goes
through ``runtime.search``, the same Japanese search as the OPAC. Nothing here imports Flask.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from elibrary.catalog.models import Audience, BookFormat, Shelf, ShelfItem, Title, TitleContributor, TitleStatus
from elibrary.errors import InvalidInput, NotFound
from elibrary.opds import circulation
from elibrary.search.analysis import clean_query
from elibrary.search.base import MAX_QUERY_LENGTH, SearchBackend, SearchQuery

PAGE_SIZE = 50
MAX_PAGE = 100_000

NDC_CLASSES = {
    "0": ("総記", "General works"),
    "1": ("哲学", "Philosophy"),
    "2": ("歴史", "History"),
    "3": ("社会科学", "Social sciences"),
    "4": ("自然科学", "Natural sciences"),
    "5": ("技術", "Technology"),
    "6": ("産業", "Industry"),
    "7": ("芸術", "Arts"),
    "8": ("言語", "Language"),
    "9": ("文学", "Literature"),
}
AUDIENCES = {
    Audience.children.value: ("児童書", "Children's books"),
    Audience.ya.value: ("ヤングアダルト(YA)", "Young adults"),
    Audience.general.value: ("一般書", "General"),
}
FORMATS = {
    BookFormat.epub_reflowable.value: ("EPUB(リフロー)", "EPUB (reflowable)"),
    BookFormat.epub_fixed.value: ("EPUB(固定レイアウト)", "EPUB (fixed layout)"),
    BookFormat.pdf.value: ("PDF", "PDF"),
    BookFormat.audio.value: ("オーディオブック", "Audiobook"),
}
LANGUAGES = {"ja": ("日本語", "Japanese"), "en": ("英語", "English")}
AVAILABILITY = {"available": ("すぐ読める本", "Available now")}

# Facet groups in display order: query parameter -> (Japanese, English group title, values).
FACET_GROUPS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "audience": ("対象", "Audience", AUDIENCES),
    "format": ("形式", "Format", FORMATS),
    "language": ("言語", "Language", LANGUAGES),
    "availability": ("貸出状況", "Availability", AVAILABILITY),
}
ALL_VALUES = ("すべて", "All")


@dataclass(frozen=True)
class Text:
    """A text in both languages; the renderers pick the request's locale."""

    ja: str
    en: str

    def __call__(self, locale: str) -> str:
        return self.en if locale == "en" else self.ja


@dataclass(frozen=True)
class NavigationItem:
    """A link from a navigation feed to another feed."""

    path: str  # relative to the version root, e.g. "new" or "ndc/9"
    title: Text
    rel: str = "subsection"
    acquisition: bool = True  # the target is an acquisition feed (else navigation)
    summary: Text | None = None


@dataclass(frozen=True)
class NavigationFeed:
    """A feed of links to other feeds."""

    path: str
    title: Text
    items: list[NavigationItem]


@dataclass(frozen=True)
class FacetLink:
    """One value of a facet group; ``params`` are the query parameters that select it."""

    group: str
    group_title: Text
    title: Text
    params: dict[str, str]
    active: bool
    count: int | None = None


@dataclass
class AcquisitionPage:
    """One page of an acquisition feed."""

    path: str
    title: Text
    titles: list[Title]
    total: int
    page: int
    per_page: int
    filters: dict[str, str] = field(default_factory=dict)
    facets: list[FacetLink] = field(default_factory=list)
    query: str | None = None  # the search terms, for a search results feed
    circulation: dict[int, circulation.Circulation] = field(default_factory=dict)

    @property
    def last_page(self) -> int:
        """The number of the last page (1 for an empty feed)."""
        return max(1, -(-self.total // self.per_page))

    def params(self, page: int | None = None, **changes: str | None) -> dict[str, str]:
        """Query parameters of this feed with some changed (``None`` removes one)."""
        params = dict(self.filters)
        if self.query is not None:
            params["q"] = self.query
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        if page and page > 1:
            params["page"] = str(page)
        return params


class InvalidFacet(InvalidInput):
    """An unknown facet value in the query string."""

    code = "invalid-facet"
    message_ja = "絞り込みの指定が正しくありません。"
    message_en = "Unknown facet value."


class InvalidPage(InvalidInput):
    """A page number that is not a positive integer."""

    code = "invalid-page"
    message_ja = "ページ番号が正しくありません。"
    message_en = "The page number is not valid."


class PageNotFound(NotFound):
    """A page past the end of the feed."""

    code = "page-not-found"
    message_ja = "このページはありません。"
    message_en = "There is no such page."


class InvalidSearch(InvalidInput):
    """An empty search."""

    code = "invalid-search"
    message_ja = "検索語を入力してください。"
    message_en = "Please enter search terms."


def root_feed(session: Session) -> NavigationFeed:
    """The catalog root: new, popular, children's, YA, by class, by audience, curated shelves."""
    items = [
        NavigationItem("new", Text("新着の本", "New arrivals"), rel="http://opds-spec.org/sort/new"),
        NavigationItem("popular", Text("よく読まれている本", "Popular"), rel="http://opds-spec.org/sort/popular"),
        NavigationItem("audience/children", Text("児童書", "Children's books")),
        NavigationItem("audience/ya", Text("ヤングアダルト(YA)", "Young adults")),
        NavigationItem("nav/ndc", Text("分類から探す(NDC)", "Browse by class (NDC)"), acquisition=False),
        NavigationItem("nav/audience", Text("対象から探す", "Browse by audience"), acquisition=False),
    ]
    if session.scalar(select(Shelf.id).where(Shelf.is_public.is_(True)).limit(1)) is not None:
        items.append(NavigationItem("nav/shelves", Text("特集", "Featured shelves"), acquisition=False))
    items.append(NavigationItem("all", Text("すべての本", "All books")))
    return NavigationFeed("", Text("電子図書館", "e-Library"), items)


def ndc_feed() -> NavigationFeed:
    """The ten main classes of the Nippon Decimal Classification."""
    items = [NavigationItem(f"ndc/{d}", Text(f"{d} {ja}", f"{d} {en}")) for d, (ja, en) in NDC_CLASSES.items()]
    return NavigationFeed("nav/ndc", Text("分類から探す(NDC)", "Browse by class (NDC)"), items)


def audience_feed() -> NavigationFeed:
    """Children's, YA and general books."""
    items = [NavigationItem(f"audience/{code}", Text(*labels)) for code, labels in AUDIENCES.items()]
    return NavigationFeed("nav/audience", Text("対象から探す", "Browse by audience"), items)


def shelves_feed(session: Session) -> NavigationFeed:
    """The public curated shelves (特集) in staff order."""
    shelves = session.scalars(select(Shelf).where(Shelf.is_public.is_(True)).order_by(Shelf.position, Shelf.id)).all()
    items = [
        NavigationItem(f"shelves/{s.slug}", Text(s.name, s.name_en or s.name), summary=Text(s.description, s.description) if s.description else None)
        for s in shelves
    ]
    return NavigationFeed("nav/shelves", Text("特集", "Featured shelves"), items)


def _newest_first(query: Select) -> Select:
    return query.order_by(Title.created_at.desc(), Title.id.desc())


@dataclass(frozen=True)
class FeedSpec:
    """A browsing feed: its path, title and how it narrows and orders the catalog."""

    path: str
    title: Text
    narrow: Callable[[Select], Select] = lambda q: q
    order: Callable[[Select], Select] = _newest_first


def feed_spec(session: Session, path: str) -> FeedSpec:
    """The browsing feed at ``path``; ``NotFound`` for anything else."""
    if path == "new":
        return FeedSpec(path, Text("新着の本", "New arrivals"))
    if path == "popular":
        counts = circulation.popular_counts()
        return FeedSpec(
            path,
            Text("よく読まれている本", "Popular"),
            lambda q: q.join(counts, counts.c.title_id == Title.id),
            lambda q: q.order_by(counts.c.n.desc(), Title.id.desc()),
        )
    if path == "all":
        return FeedSpec(path, Text("すべての本", "All books"))
    kind, _, value = path.partition("/")
    if kind == "audience" and value in AUDIENCES:
        return FeedSpec(path, Text(*AUDIENCES[value]), lambda q: q.where(Title.audience == Audience(value)))
    if kind == "ndc" and value in NDC_CLASSES:
        ja, en = NDC_CLASSES[value]
        return FeedSpec(path, Text(f"{value} {ja}", f"{value} {en}"), lambda q: q.where(Title.ndc.like(f"{value}%")))
    if kind == "shelves" and value:
        shelf = session.scalar(select(Shelf).where(Shelf.slug == value, Shelf.is_public.is_(True)))
        if shelf is not None:
            return FeedSpec(
                path,
                Text(shelf.name, shelf.name_en or shelf.name),
                lambda q: q.join(ShelfItem, ShelfItem.title_id == Title.id).where(ShelfItem.shelf_id == shelf.id),
                lambda q: q.order_by(ShelfItem.position, Title.id),
            )
    raise NotFound()


def parse_page(raw: str | None) -> int:
    """The page number from the query string (1 when absent)."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1 or int(raw) > MAX_PAGE:
        raise InvalidPage(page=raw[:20])
    return int(raw)


def parse_filters(args) -> dict[str, str]:
    """The facet filters from the query string; unknown values are refused (400)."""
    filters = {}
    for group, (_, _, values) in FACET_GROUPS.items():
        value = args.get(group)
        if value is None or value == "":
            continue
        if value not in values:
            raise InvalidFacet(facet=group, value=value[:40])
        filters[group] = value
    return filters


def _active_titles() -> Select:
    return select(Title).where(Title.status == TitleStatus.active)


def _apply_filters(query: Select, filters: dict[str, str]) -> Select:
    if "audience" in filters:
        query = query.where(Title.audience == Audience(filters["audience"]))
    if "format" in filters:
        query = query.where(Title.format == BookFormat(filters["format"]))
    if "language" in filters:
        query = query.where(Title.language == filters["language"])
    if "availability" in filters:
        query = query.where(circulation.available_now_clause())
    return query


def browse(
    session: Session, spec: FeedSpec, filters: dict[str, str], page: int, cache: "TTLCache", per_page: int = PAGE_SIZE
) -> AcquisitionPage:
    """One page of a browsing feed, with its facets and their counts."""
    base = _apply_filters(spec.narrow(_active_titles()), filters)
    total = cache.get(("total", spec.path, tuple(sorted(filters.items()))), lambda: _count(session, base))
    _check_page(page, total, per_page)
    titles = _load(session, spec.order(base).offset((page - 1) * per_page).limit(per_page))
    result = AcquisitionPage(spec.path, spec.title, titles, total, page, per_page, filters)
    result.facets = facet_links(filters, _facet_counts(session, spec, filters, cache))
    return result


def search(session: Session, backend: SearchBackend, text: str, filters: dict[str, str], page: int, per_page: int = PAGE_SIZE) -> AcquisitionPage:
    """One page of search results from the catalog's search index, facets counted by the index."""
    text = clean_query(text)[:MAX_QUERY_LENGTH]
    if not text:
        raise InvalidSearch()
    result = backend.search(SearchQuery(text=text, filters=dict(filters), offset=(page - 1) * per_page, limit=per_page))
    _check_page(page, result.total, per_page)
    by_id = {t.id: t for t in _load(session, _active_titles().where(Title.id.in_(result.ids)))}
    titles = [by_id[i] for i in result.ids if i in by_id]
    title = Text(f"「{text}」の検索結果", f"Search results for “{text}”")
    found = AcquisitionPage("search", title, titles, result.total, page, per_page, filters, query=text)
    found.facets = facet_links(filters, {g: result.facets.get(g, {}) for g in FACET_GROUPS}, with_totals=result.total)
    return found


def _check_page(page: int, total: int, per_page: int) -> None:
    if page > 1 and (page - 1) * per_page >= total:
        raise PageNotFound(page=page, last_page=max(1, -(-total // per_page)))


def _load(session: Session, query: Select) -> list[Title]:
    return list(
        session.scalars(
            query.options(
                selectinload(Title.contributors).joinedload(TitleContributor.contributor), selectinload(Title.subjects), selectinload(Title.files)
            )
        ).unique()
    )


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _facet_counts(session: Session, spec: FeedSpec, filters: dict[str, str], cache: "TTLCache") -> dict[str, dict[str, int]]:
    """Counts per facet value, each group counted with the *other* groups' filters applied."""
    counts: dict[str, dict[str, int]] = {}
    for group, column in (("audience", Title.audience), ("format", Title.format), ("language", Title.language)):
        others = {k: v for k, v in filters.items() if k != group}
        key = ("facet", spec.path, group, tuple(sorted(others.items())))

        def compute(column=column, others=others):
            query = _apply_filters(spec.narrow(select(column, func.count()).where(Title.status == TitleStatus.active)), others)
            rows = session.execute(query.group_by(column)).all()
            return {(v.value if hasattr(v, "value") else v): n for v, n in rows}

        counts[group] = cache.get(key, compute)
    return counts


def facet_links(filters: dict[str, str], counts: dict[str, dict[str, int]], with_totals: int | None = None) -> list[FacetLink]:
    """Every facet value as a link, the selected one (or "all") marked active."""
    links = []
    for group, (ja, en, values) in FACET_GROUPS.items():
        group_title = Text(ja, en)
        group_counts = counts.get(group) or {}
        everything = sum(group_counts.values()) if group != "availability" and group_counts else None
        links.append(FacetLink(group, group_title, Text(*ALL_VALUES), _without(filters, group), group not in filters, everything))
        for value, labels in values.items():
            params = {**filters, group: value}
            count = group_counts.get(value, 0) if group_counts else None
            links.append(FacetLink(group, group_title, Text(*labels), params, filters.get(group) == value, count))
    return links


def _without(filters: dict[str, str], group: str) -> dict[str, str]:
    return {k: v for k, v in filters.items() if k != group}


class TTLCache:
    """Counts over a large catalog, kept for a few seconds per process (totals may lag that long)."""

    def __init__(self, seconds: float, size: int = 2048) -> None:
        self.seconds = seconds
        self.size = size
        self._data: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute):
        """The cached value of ``key``, or ``compute()`` stored for ``seconds``."""
        if self.seconds <= 0:
            return compute()
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (now + self.seconds, value)
        return value

    def peek(self, key):
        """The fresh cached value of ``key``, or None."""
        hit = self._data.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key, value) -> None:
        """Store ``value`` for ``seconds`` (nothing when caching is off)."""
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._data.clear()

