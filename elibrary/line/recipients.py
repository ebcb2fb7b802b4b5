"""Who hears a notice, and on which channels: each patron's choice of LINE, e-mail or both (通知の受け取り方法).

A LINE message never carries the card number, and names a book only if the patron chose so
(``NoticePreference.include_titles``): otherwise the LINE text says what happened and points to マイページ.
Staff messages and announcements are sent as written.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.line.models import CHANNELS, LineLink, NoticePreference
from elibrary.notify.base import Message
from elibrary.patrons.contact import notification_address
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

DEFAULT_CHANNEL = "both"
STAFF_KINDS = frozenset({"staff", "announcement"})
# What a LINE notice says when it may not name the book (plain Japanese, then English).
LINE_TEXTS = {
    "hold-ready": "予約していた本が借りられるようになりました。マイページからお借りください。\nA book you reserved is ready. Borrow it from My Page.",
    "due-soon": "借りている本の返却期限が近づいています。マイページでご確認ください。\nA loan ends soon. See My Page.",
    "loan-ended": "電子書籍の貸出期間が終わりました。\nAn e-book loan has ended.",
    "paper-hold-ready": "予約した本をカウンターでお受け取りいただけます。\nA book you reserved is waiting at the counter.",
    "overdue": "返却期限を過ぎている本があります。図書館へご返却ください。\nA book is overdue. Please return it to the library.",
}
GENERIC_TEXT = "図書館からのお知らせがあります。マイページでご確認ください。\nThere is news from the library on My Page."


def preference_of(session: Session, patron_id: int) -> NoticePreference:
    """The patron's preference row (the default, unsaved, if they never chose)."""
    row = session.get(NoticePreference, patron_id)
    return row if row is not None else NoticePreference(patron_id=patron_id, channel=DEFAULT_CHANNEL, include_titles=False)


def set_preference(session: Session, patron_id: int, channel: str, include_titles: bool) -> NoticePreference:
    """Save the patron's choice of channel and whether LINE notices may name books."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    row = session.get(NoticePreference, patron_id)
    if row is None:
        row = NoticePreference(patron_id=patron_id)
        session.add(row)
    row.channel, row.include_titles = channel, bool(include_titles)
    session.flush()
    return row


def line_user_for(session: Session, cipher: DataCipher, patron_id: int) -> str | None:
    """The patron's LINE user id if linked and not blocked."""
    link = session.scalar(select(LineLink).where(LineLink.patron_id == patron_id))
    if link is None or link.blocked_at is not None:
        return None
    return cipher.decrypt(link.line_user_enc, "line.user")


def line_text(kind: str, body: str, include_titles: bool) -> str:
    """The text of a LINE notice: as written for staff kinds and opted-in patrons, else without the book."""
    if kind in STAFF_KINDS or include_titles:
        return body
    return LINE_TEXTS.get(kind, GENERIC_TEXT)


def messages_for(session: Session, cipher: DataCipher, patron: Patron, *, kind: str, subject: str, body: str) -> list[Message]:
    """The notice as one message per channel the patron wants and can be reached on (maybe none)."""
    pref = preference_of(session, patron.id)
    email = notification_address(session, cipher, patron)
    line_user = line_user_for(session, cipher, patron.id)
    wants_line = pref.channel in ("line", "both") and line_user is not None
    # Someone who chose LINE only but has since unlinked or blocked the account still gets e-mail.
    wants_email = email is not None and (pref.channel in ("email", "both") or not wants_line)
    out = []
    if wants_line:
        out.append(Message(channel="line", address=line_user, subject=subject, body=line_text(kind, body, pref.include_titles), kind=kind))
    if wants_email:
        out.append(Message(channel="email", address=email, subject=subject, body=body, kind=kind))
    return out
