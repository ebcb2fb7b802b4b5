"""Purchase requests (リクエスト): a signed-in patron asks for a title by ISBN or in words; librarians see
requests grouped by title with counts, matched to the pool where possible. Who asked is shown only where the
library's policy says so (``ELIBRARY_SELECTION_SHOW_REQUESTERS``, off by default), each look in the access log."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elibrary.audit.recording import Access, record
from elibrary.catalog.isbn import is_valid_isbn, normalize_isbn
from elibrary.errors import Conflict, Forbidden, InvalidInput, NotFound
from elibrary.patrons.contact import card_number_of, name_of
from elibrary.patrons.models import Patron
from elibrary.search.analysis import normalize
from elibrary.selection.funds import require_selector
from elibrary.selection.models import PoolTitle, PurchaseRequest

MAX_OPEN_PER_PATRON = 20
_PUNCT = re.compile(r"[\W_]+")


def make_request(session: Session, patron, text: str) -> PurchaseRequest:
    """Record a patron's request; an ISBN in it (with or without hyphens) names the title exactly."""
    text = (text or "").strip()
    if not text or len(text) > 500:
        raise InvalidInput("リクエストする本の書名・著者名またはISBNを500字以内で入力してください。",
                           "Write the title, author or ISBN of the book (up to 500 characters).", field="text")
    compact = re.sub(r"[\s\-‐ー－]", "", text)
    isbn = normalize_isbn(compact) if is_valid_isbn(compact) else None
    key = isbn or _PUNCT.sub("", normalize(text))[:300]
    if not key:
        raise InvalidInput("書名・著者名またはISBNを入力してください。", "Write a title, an author or an ISBN.", field="text")
    count = session.scalar(select(func.count()).select_from(PurchaseRequest).where(PurchaseRequest.patron_id == patron.id)) or 0
    if count >= MAX_OPEN_PER_PATRON:
        raise Conflict(f"リクエストは1人{MAX_OPEN_PER_PATRON}件までです。", f"At most {MAX_OPEN_PER_PATRON} requests per person.")
    pool_id = session.scalar(select(PoolTitle.id).where(PoolTitle.isbn == isbn).limit(1)) if isbn else None
    request = PurchaseRequest(patron_id=patron.id, request_key=key, isbn=isbn, text=text, pool_title_id=pool_id)
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        raise Conflict("この本は既にリクエストしています。", "You have already requested this book.") from None
    return request


def my_requests(session: Session, patron) -> list[PurchaseRequest]:
    """A patron's own requests, newest first."""
    return list(session.scalars(select(PurchaseRequest).where(PurchaseRequest.patron_id == patron.id)
                                .order_by(PurchaseRequest.id.desc())))


@dataclass(frozen=True)
class RequestGroup:
    """Requests for one title: how many, what they said (one example), and the pool title if matched."""

    key: str
    count: int
    example: str
    isbn: str | None
    pool_title: PoolTitle | None


def grouped_requests(session: Session, staff) -> list[RequestGroup]:
    """Requests grouped by title, most requested first; no patron is named."""
    require_selector(staff)
    rows = session.execute(select(PurchaseRequest.request_key, func.count(), func.min(PurchaseRequest.text),
                                  func.max(PurchaseRequest.isbn), func.max(PurchaseRequest.pool_title_id))
                           .group_by(PurchaseRequest.request_key).order_by(func.count().desc(), PurchaseRequest.request_key)).all()
    pool_ids = {row[4] for row in rows if row[4]}
    pool = {p.id: p for p in session.scalars(select(PoolTitle).where(PoolTitle.id.in_(pool_ids)))} if pool_ids else {}
    return [RequestGroup(key, int(count), example, isbn, pool.get(pool_id)) for key, count, example, isbn, pool_id in rows]


@dataclass(frozen=True)
class Requester:
    """Who asked for a title (only where the library's policy shows it)."""

    card_number: str
    name: str | None
    requested_at: object


def requesters(session: Session, staff, key: str, cipher, *, shown_by_policy: bool, address: str | None = None) -> list[Requester]:
    """The patrons who requested the title of ``key``; refused unless the policy shows them, and every patron
    shown is an entry in the staff access log (personal data: card number and name)."""
    require_selector(staff)
    if not shown_by_policy:
        raise Forbidden("この図書館の設定では、リクエストした人は表示しません。", "This library's policy does not show who made a request.")
    rows = session.execute(select(PurchaseRequest, Patron).join(Patron, Patron.id == PurchaseRequest.patron_id)
                           .where(PurchaseRequest.request_key == key).order_by(PurchaseRequest.created_at)).all()
    if not rows:
        raise NotFound("このリクエストはありません。", "No such request.")
    shown = []
    for request, patron in rows:
        record(session, Access(staff_id=staff.id, staff_email=staff.email, address=address, action="view", subject="purchase-request",
                               patron_id=patron.id, fields=("card", "name"), detail=f"requesters of {key[:60]}"))
        shown.append(Requester(card_number_of(patron, cipher), name_of(patron, cipher), request.created_at))
    return shown
