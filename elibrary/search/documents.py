"""What of a ``SearchDocument`` is searched, and how a query is matched against it, independent of the engine.

A document becomes token lists per field; a query becomes *units* (one per word), each a list of clauses
that must all match, each clause a few ``(field, token)`` alternatives. The Whoosh backend stores the
token lists in its index and evaluates units with bitsets; the in-memory fake evaluates the same units
against Python sets, so both behave alike by construction and the contract suite checks the engines.
"""
from __future__ import annotations

from collections.abc import Sequence

from elibrary.search import analysis
from elibrary.search.base import MAX_QUERY_LENGTH, SearchDocument

TOKEN_FIELDS = ("text", "title", "author", "uni")

Clause = Sequence[tuple[str, str]]  # alternatives (field, token): any of them may match
Unit = Sequence[Clause]  # all clauses must match: one query word


def field_tokens(doc: SearchDocument) -> dict[str, list[str]]:
    """Tokens per field: ``text`` is the catch-all; ``title``/``author`` rank; ``uni`` serves 1-char queries.

    Each part is analysed on its own (no token crosses the space that would join the parts, so this is
    the analysis of the joined text); the parts that repeat across a catalog (names, readings,
    publishers, subjects, series) come from ``analysis``'s caches.
    """
    tokens, cached, reading_tokens = analysis.tokens, analysis.cached_tokens, analysis.reading_tokens
    named = analysis.cached_name_tokens  # names and titles are also typed without their separators
    readings = [doc.title_reading, doc.series_reading, *doc.contributor_readings]
    title_part = analysis.name_tokens(doc.title) + list(named(doc.subtitle))
    people = [t for c in doc.contributors for t in named(c)]
    reading_toks = [t for r in readings for t in reading_tokens(r)]
    subjects = [t for s in doc.subjects for t in cached(s)]
    text = [*title_part, *named(doc.series), *people, *cached(doc.publisher), *subjects, *tokens(doc.description)]
    text += reading_toks + analysis.isbn_tokens(doc.isbn) + list(analysis.cached_ndc_tokens(doc.ndc))
    short = [analysis.unigrams(doc.title), *(analysis.cached_unigrams(part) for part in (doc.subtitle, doc.series))]
    short += [analysis.cached_unigrams(part) for part in (*doc.contributors, *doc.subjects, *readings)]
    exact_title = [analysis.exact_key(doc.title), *analysis.exact_reading_tokens(doc.title_reading)]
    exact_people = [t for name in (*doc.contributors, *doc.contributor_readings) for t in analysis.exact_name_tokens(name)]
    return {
        "text": list(dict.fromkeys(text)),
        "title": list(dict.fromkeys(title_part + list(reading_tokens(doc.title_reading)) + [t for t in exact_title if t])),
        "author": list(dict.fromkeys(people + [t for r in doc.contributor_readings for t in reading_tokens(r)] + exact_people)),
        "uni": list(dict.fromkeys(c for part in short for c in part)),
    }


def facet_values(doc: SearchDocument) -> dict[str, str]:
    """The facet codes of a document ("" when unknown)."""
    return {
        "audience": doc.audience,
        "format": doc.format,
        "language": doc.language,
        "ndc1": doc.ndc[:1] if doc.ndc[:1].isdigit() else "",
        "availability": "available" if doc.available else "unavailable",
    }


def reading_key(doc: SearchDocument) -> str:
    """Sort key for 五十音順: the title's reading, or the title itself when it has none."""
    return analysis.sort_key(doc.title_reading or doc.title)


def newest_key(doc: SearchDocument) -> tuple[int, int]:
    """Sort key for "newest": publication date descending, undated last, then id."""
    return (-int(doc.published.strftime("%Y%m%d")) if doc.published else 0, doc.id)


def exact_clause(text: str) -> Clause:
    """Alternatives matching a title, title reading, name or part of a name that is the whole query."""
    key = analysis.exact_key(analysis.clean_query(text or "")[:MAX_QUERY_LENGTH])
    return [("title", key), ("author", key)] if key else []


# A kanji/kana run longer than this many bigrams is matched by this many of them, spread evenly over it
# (the first and last always): a 120-character pasted sentence is then as selective as ever, but costs
# 24 posting lists instead of 119 on its first use.
MAX_RUN_BIGRAMS = 24


def _spread(tokens: list[str]) -> list[str]:
    if len(tokens) <= MAX_RUN_BIGRAMS:
        return tokens
    last = len(tokens) - 1
    return [tokens[round(i * last / (MAX_RUN_BIGRAMS - 1))] for i in range(MAX_RUN_BIGRAMS)]


def query_units(text: str, field: str = "text") -> list[Unit]:
    """The query as units of clauses; query syntax characters are plain text, long text is cut.

    A word repeated adds nothing; a very long kanji/kana run is matched by ``MAX_RUN_BIGRAMS`` of its bigrams.
    """
    units: list[Unit] = []
    for word in analysis.compact_isbns((text or "")[:MAX_QUERY_LENGTH]).split():
        isbn = analysis.isbn_query(word)
        if isbn:
            # Also the digits as typed: a ten-digit number need not be an ISBN.
            units.append([[(field, isbn), (field, analysis.normalize(word))]])
            continue
        for run in analysis.runs(analysis.normalize(word)):
            if analysis.is_single_cjk(run):
                units.append([[(field, run), ("uni", run)]] if field == "text" else [[(field, run)]])
            else:
                units.append([[(field, tok)] for tok in _spread(analysis.run_tokens(run))])
    unique: list[Unit] = []
    for unit in units:
        if unit not in unique:
            unique.append(unit)
    return unique
