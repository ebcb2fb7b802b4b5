"""Lending factories: they flush, never commit."""
from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from elibrary.catalog.models import Audience, BookFile, Collection, Title
from elibrary.lending import services
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

_serial = itertools.count(1)


def make_title(
    session: Session, *, audience: Audience = Audience.general, collections: tuple[str, ...] = (), with_file: bool = True, **overrides
) -> Title:
    """A title without licences; ``with_file`` gives it an EPUB row (lending refuses titles nobody could read)."""
    n = next(_serial)
    title = Title(title=overrides.pop("title", f"貸出テストの本 {n}"), audience=audience, **overrides)
    for code in collections:
        collection = session.query(Collection).filter_by(code=code).one_or_none() or Collection(code=code, name=code)
        title.collections.append(collection)
    session.add(title)
    session.flush()
    if with_file:
        key = f"books/{title.id}/{n:064d}.epub"
        session.add(BookFile(title_id=title.id, storage_key=key, sha256=f"{n:064d}", size=1, media_type="application/epub+zip"))
        session.flush()
    return title


def make_patron(session: Session, cipher: DataCipher | None = None, *, category: str = "citizen", **overrides) -> Patron:
    """A patron with a unique card (no PIN: lending never needs it)."""
    n = next(_serial)
    card = f"L{n:08d}"
    patron = Patron(
        card_hash=(cipher.lookup_hash(card) if cipher else f"hash-{card}"),
        card_enc=(cipher.encrypt(card, "patron.card") if cipher else card.encode()),
        category=category,
        **overrides,
    )
    session.add(patron)
    session.flush()
    return patron


def make_licensed_title(
    session: Session, model: str = "concurrent", copies: int | None = 1, *, title: str | None = None, with_file: bool = True, **license_terms
) -> Title:
    """A title with one licence (and, unless ``with_file`` is false, a book file)."""
    title = make_title(session, with_file=with_file, **({"title": title} if title else {}))
    if model in ("open",):
        copies = None
    services.add_license(session, title.id, model, copies=copies, **license_terms)
    return title
