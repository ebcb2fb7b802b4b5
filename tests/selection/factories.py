"""Selection factories: they flush, never commit."""
from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from elibrary.catalog.isbn import make_isbn13
from elibrary.selection import grams
from elibrary.selection.models import PoolOffer, PoolTitle
from elibrary.selection.pool import work_key
from elibrary.staff.models import Role, StaffUser

_serial = itertools.count(1)


def make_staff(session: Session, role: str = "librarian") -> StaffUser:
    """A staff member of ``role``."""
    n = next(_serial)
    user = StaffUser(email=f"sel{n}-{role}@city.example.jp", password_hash="x", role=Role(role), must_change_password=False)
    session.add(user)
    session.flush()
    return user


def make_offer(session: Session, *, title: str | None = None, price: int | None = 2000, model: str = "one-copy", copies: int | None = 1,
               loans: int | None = None, term_months: int | None = None, tax_rate: int = 10, distributor: str = "ほんのもり",
               isbn: str | None = None, **pool_fields) -> PoolOffer:
    """A pool title with one offer."""
    n = next(_serial)
    name = title or f"選書テストの本 {n}"
    pool_title = PoolTitle(record_key=isbn or f"test:{n}", isbn=isbn or make_isbn13(f"97849{80000 + n:07d}"), title=name,
                           work_key=work_key(name, "", ""), search_text=name, ndc="913", ndc_class="9",
                           record={"title": name, "isbn": isbn or None, "contributors": [["作者", "サクシャ", "aut"]]}, **pool_fields)
    pool_title.record["isbn"] = pool_title.isbn
    offer = PoolOffer(distributor=distributor, offer_code=f"C-{n}", model=model, copies=copies, loans=loans,
                      term_months=term_months, price=price, tax_rate=tax_rate)
    pool_title.offers.append(offer)
    session.add(pool_title)
    session.flush()
    grams.refresh(session, [pool_title.id])  # PostgreSQL's pool word index, as an import batch refreshes it
    return offer
