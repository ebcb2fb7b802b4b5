"""The OPAC search page: ``/search?q=...&audience=...&sort=...&page=...``.

The search backend answers with title ids and facet counts; the titles are loaded from the database in
that order. Any input gets a page: an empty query shows ways to browse, an over-long one a message
(400), query-syntax characters are plain text to the backend, an unavailable index a message (503).
"""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app, render_template, request, session, url_for
from flask_login import current_user

from elibrary.catalog import browse, text_search
from elibrary.search.analysis import clean_query
from elibrary.search.base import FACETS, MAX_QUERY_LENGTH, SORTS, SearchError, SearchQuery
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 results: past that, narrowing the search helps more than paging
MAX_FILTER_LENGTH = 40
SUGGEST_BELOW = 3  # "もしかして" is offered when a search finds fewer titles than this
FACET_ORDER = {"audience": ["children", "ya", "general"], "ndc1": [str(d) for d in range(10)]}


@dataclass
class SearchRequest:
    """The parsed query string of a search page."""

    text: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = ""
    page: int = 1
    problem: str = ""
    fulltext: bool = False  # 本文も検索: also search the text of the books

    @property
    def effective_sort(self) -> str:
        """Relevance means nothing without words: then the newest come first."""
        return self.sort or ("relevance" if self.text else "newest")

    def no_filters(self) -> dict[str, None]:
        """Changes for ``url`` that remove every filter."""
        return dict.fromkeys(self.filters)

    def url(self, **changes) -> str:
        """This search with some parameters changed (``None`` removes one); paging restarts unless given."""
        params: dict[str, object] = {"q": self.text, **self.filters, "sort": self.sort, "fulltext": "1" if self.fulltext else None}
        params.update(changes)
        if "page" not in changes:
            params.pop("page", None)
        pairs = [(k, v) for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)]
        query = urlencode(pairs)
        return url_for("catalog.search") + ("?" + query if query else "")


_clean_text = clean_query


def parse_search_request(args, facets: tuple[str, ...]) -> SearchRequest:
    """Read ``q``, the facet filters, ``sort`` and ``page`` leniently: bad values fall back to defaults."""
    parsed = SearchRequest()
    raw = args.get("q", "")
    if len(raw) > MAX_QUERY_LENGTH * 4:  # do not even normalise absurd input
        raw = raw[: MAX_QUERY_LENGTH * 4]
    text = _clean_text(raw)
    if len(text) > MAX_QUERY_LENGTH:
        parsed.problem = t(
            f"検索語が長すぎます。{MAX_QUERY_LENGTH}文字以内で入力してください。",
            f"The search words are too long. Please use at most {MAX_QUERY_LENGTH} characters.",
        )
        text = text[:MAX_QUERY_LENGTH]
    parsed.text = text
    for facet in facets:
        value = _clean_text(args.get(facet, ""))
        if value and len(value) <= MAX_FILTER_LENGTH:
            parsed.filters[facet] = value
    parsed.fulltext = args.get("fulltext") == "1"
    sort = args.get("sort", "")
    parsed.sort = sort if sort in SORTS else ""
    try:
        parsed.page = min(max(int(args.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        parsed.page = 1
    return parsed


def shown_facets() -> tuple[str, ...]:
    """The facets offered: availability only once lending supplies it."""
    return tuple(f for f in FACETS if f != "availability" or "lending" in current_app.blueprints)


def _facet_rows(facets: dict[str, dict[str, int]], active: dict[str, str], names: tuple[str, ...]) -> list[tuple[str, list[tuple[str, int]]]]:
    rows = []
    for name in names:
        counts = dict(facets.get(name, {}))
        if name in active:
            counts.setdefault(active[name], 0)
        if not counts:
            continue
        order = FACET_ORDER.get(name)
        if order:
            values = sorted(counts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
        else:
            values = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append((name, values))
    return rows


def _page_numbers(page: int, last: int) -> list[int | None]:
    """Page links around the current one, with ``None`` for a gap: 1 … 4 5 [6] 7 8 … 20."""
    wanted = {1, last, *range(max(page - 2, 1), min(page + 2, last) + 1)}
    numbers: list[int | None] = []
    for number in sorted(wanted):
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def search():
    """Search results with facets, sorts and pages."""
    names = shown_facets()
    parsed = parse_search_request(request.args, names)
    context = {"req": parsed, "search_text": parsed.text, "titles": [], "result": None, "facet_rows": [], "pages": [], "last_page": 1}
    if parsed.problem:
        return render_template("catalog/search.html", **context), 400
    # An empty search browses everything, newest first; a submitted empty box also gets a hint.
    context["empty_query"] = "q" in request.args and not parsed.text and not parsed.filters
    query = SearchQuery(
        text=parsed.text, filters=dict(parsed.filters), sort=parsed.effective_sort,
        offset=(parsed.page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
    )
    try:
        result = runtime().search.search(query)
    except SearchError:
        context["unavailable"] = True
        return render_template("catalog/search.html", **context), 503
    if parsed.text and parsed.page == 1 and not parsed.filters and runtime().usage is not None:
        runtime().usage.record_search(parsed.text, result.total)  # the search query log: per query per day, nobody's
    last_page = min(max(math.ceil(result.total / PAGE_SIZE), 1), MAX_PAGE)
    context.update(text_section(parsed))
    context.update(
        suggestions=_suggestions(parsed, result.total),
        result=result,
        titles=browse.titles_in_order(db_session(), result.ids),
        facet_rows=_facet_rows(result.facets, parsed.filters, names),
        last_page=last_page,
        pages=_page_numbers(min(parsed.page, last_page), last_page),
    )
    return render_template("catalog/search.html", **context)


def _snippets_allowed(limit) -> bool:
    """The snippet rate limit for this request's user, or its browser session and address (``text_search``)."""
    user_id = current_user.get_id() if getattr(current_user, "is_authenticated", False) else None
    client = session.get("_text_search_client")
    if user_id is None and client is None:
        client = session["_text_search_client"] = secrets.token_hex(8)
    return text_search.snippets_allowed(limit, db_session(), user_id=user_id, client=client or "", address=request.remote_addr)


def text_section(parsed: SearchRequest) -> dict:
    """本文も検索: the titles whose text matched, with snippets while the rate limit allows (first page only)."""
    rt = runtime()
    if not (parsed.fulltext and parsed.text and parsed.page == 1) or rt.booktext is None or rt.text_indexer is None:
        return {}
    allowed = rt.text_limit is None or _snippets_allowed(rt.text_limit)
    try:
        matches = text_search.search_text(db_session(), rt.booktext, rt.text_indexer.searchable, parsed.text, with_snippets=allowed)
    except SearchError:
        return {"text_unavailable": True}
    return {"text_matches": matches, "text_limited": not allowed}


def _suggestions(parsed: SearchRequest, total: int) -> list[str]:
    """"もしかして" for a first page that found nothing or little; none when the index cannot say."""
    if not parsed.text or parsed.page != 1 or total >= SUGGEST_BELOW:
        return []
    try:
        return runtime().search.suggest(parsed.text)
    except SearchError:
        return []
