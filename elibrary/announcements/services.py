"""Writing, approving, sending and showing announcements (お知らせ).

A librarian writes and previews; anything that reaches more than one patron (LINE to an audience, or the
public home page) waits for an admin's approval. LINE sends go out as multicasts of at most 500 users
with one ``X-Line-Retry-Key`` per batch, so sending again after an error never delivers a batch twice.
A message to one patron goes through the outbox on the channels that patron chose.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from elibrary.announcements.models import AUDIENCES, Announcement
from elibrary.db import Database, utcnow
from elibrary.errors import Conflict, Forbidden, InvalidInput, NotFound
from elibrary.line.client import MULTICAST_MAX, LineClient, LineError
from elibrary.line.models import LineLink
from elibrary.line.notifier import quiet_until
from elibrary.line.recipients import messages_for
from elibrary.notify.outbox import enqueue
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)
RETRY_NAMESPACE = uuid.UUID("0b7a3c1e-2f4d-4e0a-9c55-7d1e8a6b2c90")
MAX_TITLE, MAX_BODY = 200, 2000


class InQuietHours(Conflict):
    """LINE messages are not sent during quiet hours."""

    code = "quiet-hours"
    message_ja = "配信を控える時間帯のため、LINEでは送信できません。時間をおいて送信してください。"
    message_en = "LINE messages are not sent during quiet hours. Please send later."


def create(session: Session, staff, *, title: str, body: str, audience: str = "all", audience_value: str = "",
           show_on_site: bool = True, send_line: bool = False, starts_at: datetime | None = None,
           ends_at: datetime | None = None) -> Announcement:
    """A draft announcement by ``staff``."""
    title, body, audience_value = title.strip(), body.strip(), audience_value.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"件名を{MAX_TITLE}文字以内で入力してください。", f"Enter a subject of at most {MAX_TITLE} characters.", field="title")
    if not body or len(body) > MAX_BODY:
        raise InvalidInput(f"本文を{MAX_BODY}文字以内で入力してください。", f"Enter a message of at most {MAX_BODY} characters.", field="body")
    if audience not in AUDIENCES:
        raise InvalidInput("送り先を選んでください。", "Choose the audience.", field="audience")
    if audience == "patron" and (not audience_value.isdigit() or session.get(Patron, int(audience_value)) is None):
        raise InvalidInput("送り先の利用者が見つかりません。", "The patron was not found.", field="audience_value")
    if audience == "category" and not audience_value:
        raise InvalidInput("利用者区分を入力してください。", "Enter the patron category.", field="audience_value")
    if not show_on_site and not send_line:
        raise InvalidInput("ホームページ掲載かLINE送信のどちらかを選んでください。", "Choose the home page, LINE, or both.")
    if audience == "patron" and show_on_site:
        raise InvalidInput("一人あての連絡はホームページに掲載できません。", "A message to one patron cannot be shown on the home page.")
    if starts_at and ends_at and ends_at <= starts_at:
        raise InvalidInput("掲載終了は開始より後にしてください。", "The end must be after the start.", field="ends_at")
    row = Announcement(title=title, body=body, audience=audience, audience_value=audience_value, show_on_site=show_on_site,
                       send_line=send_line, starts_at=starts_at, ends_at=ends_at, status="draft", created_by=staff.id)
    session.add(row)
    session.flush()
    return row


def get(session: Session, announcement_id: int) -> Announcement:
    """One announcement or ``NotFound``."""
    row = session.get(Announcement, announcement_id)
    if row is None:
        raise NotFound()
    return row


def needs_approval(row: Announcement) -> bool:
    """Whether it reaches more than one patron (an audience by LINE, or everyone on the home page)."""
    return row.show_on_site or row.audience != "patron"


def submit(row: Announcement) -> None:
    """Ask for approval (or, for one patron, make it ready to send)."""
    if row.status != "draft":
        raise Conflict("この お知らせ はすでに申請済みです。", "This announcement was already submitted.")
    row.status = "pending" if needs_approval(row) else "approved"


def approve(row: Announcement, admin, now: datetime | None = None) -> None:
    """An admin approves a pending announcement; it then shows on the site in its time window and may be sent."""
    if getattr(getattr(admin, "role", None), "value", None) != "admin":
        raise Forbidden("承認は管理者のみが行えます。", "Only an administrator can approve.")
    if row.status != "pending":
        raise Conflict("承認待ちではありません。", "This announcement is not waiting for approval.")
    row.status, row.approved_by, row.approved_at = "approved", admin.id, now or utcnow()


def line_recipients(session: Session, cipher: DataCipher, row: Announcement) -> list[str]:
    """LINE user ids of the audience: linked, not blocked, active patrons (in the category, if one is set)."""
    query = select(LineLink, Patron).join(Patron, Patron.id == LineLink.patron_id).where(LineLink.blocked_at.is_(None))
    if row.audience == "category":
        query = query.where(Patron.category == row.audience_value)
    return [cipher.decrypt(link.line_user_enc, "line.user") for link, _ in session.execute(query.order_by(LineLink.id))]


def send(db: Database, cipher: DataCipher, client: LineClient | None, announcement_id: int, *,
         quiet_hours=None, now: datetime | None = None) -> tuple[int, int]:
    """Send an approved announcement by LINE; returns (sent, failed) recipients, also kept on the row.

    The recipients are read in one short transaction and the result written in another; no transaction is
    open while LINE answers (a multicast per 500 users, up to 10 s each), so on SQLite sign-ins and loans
    never wait for a mass send.
    """
    now = now or utcnow()
    with db.scope(write=False) as session:
        row = get(session, announcement_id)
        if row.status not in ("approved", "sent") or not row.send_line:
            raise Conflict("承認済みのLINE送信のお知らせだけが送信できます。", "Only an approved LINE announcement can be sent.")
        if row.status == "sent" and row.failed_count == 0:
            raise Conflict("送信済みです。", "Already sent.")
        to_one = row.audience == "patron"
        if not to_one:
            if client is None:
                raise Conflict("LINEが設定されていません。", "LINE is not configured.")
            if quiet_until(now, quiet_hours) is not None:
                raise InQuietHours()
            users, text = line_recipients(session, cipher, row), f"【{row.title}】\n{row.body}"
    if to_one:
        with db.scope() as session:
            return _send_to_one(session, cipher, get(session, announcement_id), now)
    sent = failed = 0
    for start in range(0, len(users), MULTICAST_MAX):
        batch = users[start : start + MULTICAST_MAX]
        key = str(uuid.uuid5(RETRY_NAMESPACE, f"announcement:{announcement_id}:{start}:{len(batch)}"))
        try:
            client.multicast(batch, [{"type": "text", "text": text[:5000]}], key)
            sent += len(batch)
        except LineError as exc:
            failed += len(batch)
            log.warning("an announcement batch of %s failed: %s", len(batch), type(exc).__name__)
    with db.scope() as session:
        row = get(session, announcement_id)
        row.sent_count, row.failed_count, row.status, row.sent_at = sent, failed, "sent", now
    return sent, failed


def _send_to_one(session: Session, cipher: DataCipher, row: Announcement, now: datetime) -> tuple[int, int]:
    patron = session.get(Patron, int(row.audience_value))
    messages = messages_for(session, cipher, patron, kind="staff", subject=row.title, body=row.body) if patron else []
    for message in messages:
        enqueue(session, cipher, message)
    row.sent_count, row.failed_count = (1, 0) if messages else (0, 1)
    row.status, row.sent_at = "sent", now
    session.flush()
    return row.sent_count, row.failed_count


def on_site(session: Session, now: datetime | None = None, limit: int = 5) -> list[Announcement]:
    """Approved announcements for the home page, inside their start and end times, newest first."""
    now = now or utcnow()
    query = (
        select(Announcement)
        .where(
            Announcement.show_on_site.is_(True),
            Announcement.approved_at.is_not(None),
            or_(Announcement.starts_at.is_(None), Announcement.starts_at <= now),
            or_(Announcement.ends_at.is_(None), Announcement.ends_at > now),
        )
        .order_by(Announcement.starts_at.desc(), Announcement.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def listing(session: Session) -> list[Announcement]:
    """Every announcement for staff, newest first."""
    return list(session.scalars(select(Announcement).order_by(Announcement.id.desc()).limit(200)))
