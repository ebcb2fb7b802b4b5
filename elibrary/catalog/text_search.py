"""本文検索: titles whose book text holds the query words, each with one short snippet around the hit.

The book-text index answers with title ids and a passage each; here every hit is checked against the
database again (the title is active, a lending licence allows its text: ``Searchable``), so a title
withdrawn or a licence changed a moment ago never shows text, whatever the index's lag. Snippets are at
most ``snippets.SNIPPET_CHARS`` characters, one per title, and only while the caller's rate limit allows.
Nothing here logs the query or who asked.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title, TitleStatus
from elibrary.search.booktext import BookTextIndex
from elibrary.search.snippets import Snippet, snippet

TEXT_RESULTS = 20  # titles shown in the 「本文に一致」 section
ADDRESS_SHARE = 10  # an address (a school's or a family's NAT) may make this many patrons' worth of anonymous text searches

Searchable = Callable[[Session, Iterable[int]], set[int]]


@dataclass(frozen=True)
class TextMatch:
    """A title whose text matched, and its snippet (None when snippets are not shown)."""

    title: Title
    snippet: Snippet | None


def search_text(session: Session, index: BookTextIndex, searchable: Searchable, query: str, *,
                with_snippets: bool = True, limit: int = TEXT_RESULTS) -> list[TextMatch]:
    """Active titles whose text may be searched and holds every word of ``query``, best first."""
    if not query.strip():
        return []
    hits = index.search(query, limit=limit * 2)  # some may be filtered out below
    ids = [hit.title_id for hit in hits]
    if not ids:
        return []
    titles = {t.id: t for t in session.scalars(select(Title).where(Title.id.in_(ids), Title.status == TitleStatus.active))}
    allowed = searchable(session, list(titles))
    shown = [hit for hit in hits if hit.title_id in titles and hit.title_id in allowed][:limit]
    return [TextMatch(titles[hit.title_id], snippet(hit.passage.text, query) if with_snippets else None) for hit in shown]


def snippets_allowed(limit, session: Session, *, user_id: str | None, client: str, address: str | None) -> bool:
    """The snippet rate limit (``security.rate.RateLimit``): per signed-in user; otherwise per browser session
    *and* per address, so a client throwing its cookie away still meets the address's ``ADDRESS_SHARE`` budget."""
    if user_id is not None:
        return limit.allow(f"user:{user_id}", caller=session)
    return limit.allow_all({f"address:{address}": limit.limit * ADDRESS_SHARE, f"client:{client}": limit.limit}, caller=session)
