"""What statistics may know of a patron at an event: the age in whole years, never the date of birth."""
from __future__ import annotations

from datetime import date

from elibrary.db import hooks_of
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher, DecryptionError


def age_on(patron: Patron, cipher: DataCipher | None, day: date) -> int | None:
    """The patron's age on ``day`` from the encrypted date of birth, or None (不明)."""
    if cipher is None or not patron.birth_date_enc:
        return None
    try:
        born = date.fromisoformat(cipher.decrypt(patron.birth_date_enc, "patron.birth_date") or "")
    except (DecryptionError, ValueError):
        return None
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return age if 0 <= age < 130 else None


# Statistics hear of new patrons: each callable ``fn(session, patron, kind)`` with ``kind`` one of ``full`` (a
# new patron known to elibrary: added locally or first signed in from the ILS), ``provisional`` (an online
# registration confirmed by e-mail) and ``confirmed`` (a provisional one confirmed at the counter). The
# wiring room adds them to each runtime's database.
REGISTERED = "patrons.registered"


def announce_registration(session, patron: Patron, kind: str) -> None:
    """Tell the listeners of ``REGISTERED`` (statistics) that ``patron`` registered."""
    for hook in hooks_of(session, REGISTERED):
        hook(session, patron, kind)
