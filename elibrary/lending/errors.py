"""Why lending refuses a request. Each error changes nothing and says why, in Japanese and English."""
from __future__ import annotations

from elibrary.errors import Conflict, Forbidden, InvalidInput, NotFound


class AlreadyBorrowed(Conflict):
    """The patron already has this title on loan."""

    code = "already-borrowed"
    message_ja = "この本はすでに借りています。"
    message_en = "You already have this book on loan."


class NotAvailable(Conflict):
    """No copy is free; the patron may place a hold."""

    code = "not-available"
    message_ja = "現在すべて貸出中です。予約できます。"
    message_en = "All copies are on loan. You can place a hold."


class NotLendable(Conflict):
    """The title has no licence that can lend (none bought, expired or used up)."""

    code = "not-lendable"
    message_ja = "この本は現在貸し出しできません。"
    message_en = "This book cannot be lent at present."


class NoBookFile(Conflict):
    """The title has a licence but no file a reader can open: lending it would spend a copy on nothing."""

    code = "no-book-file"
    message_ja = "この本は読むためのファイルが準備できていないため、まだ借りられません。"
    message_en = "This book cannot be borrowed yet: its file is not ready to read."


class LoanNotFound(NotFound):
    """No such current loan for this patron: returned already, expired, or someone else's."""

    code = "loan-not-found"
    message_ja = "この貸出はすでに返却済みか、存在しません。ページを再読み込みしてください。"
    message_en = "This loan has already ended or does not exist. Please reload the page."


class HoldNotFound(NotFound):
    """No such hold for this patron: borrowed, cancelled, lapsed, or someone else's."""

    code = "hold-not-found"
    message_ja = "この予約はすでに終了しているか、存在しません。ページを再読み込みしてください。"
    message_en = "This hold has already ended or does not exist. Please reload the page."


class RenewalRefused(Conflict):
    """Renewal is not possible: others are waiting, or no renewals are left."""

    code = "renewal-refused"
    message_ja = "延長できません。"
    message_en = "The loan cannot be renewed."


class HoldRefused(Conflict):
    """A hold that makes no sense: the title is free, already held or already borrowed."""

    code = "hold-refused"
    message_ja = "予約できません。"
    message_en = "A hold cannot be placed."


class PatronNotAllowed(Forbidden):
    """The patron may not borrow: blocked, expired, over a limit, or outside their collections."""

    code = "patron-not-allowed"
    message_ja = "この利用者は貸出できません。"
    message_en = "This patron cannot borrow."


class LimitReached(PatronNotAllowed):
    """The patron's category limit of loans or holds is reached."""

    code = "limit-reached"


class InvalidLicense(InvalidInput):
    """A licence that could never lend (zero copies, an end date in the past ...)."""

    code = "invalid-license"
    message_ja = "ライセンスの内容に誤りがあります。"
    message_en = "The licence is not valid."
