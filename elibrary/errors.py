"""Domain errors: raised by services, turned into responses in one place (``elibrary.web.errors``).

Each error carries a stable ``code`` (used as the problem+json ``type`` suffix), an HTTP status, and a
message in Japanese and English, because the same error reaches a patron's page, a flash message and an
OPDS client.
"""
from __future__ import annotations


class DomainError(Exception):
    """A request that the library's rules refuse; nothing was changed."""

    code = "error"
    status = 400
    message_ja = "処理できませんでした。"
    message_en = "The request could not be processed."

    def __init__(self, message_ja: str | None = None, message_en: str | None = None, **detail: object) -> None:
        self.message_ja = message_ja or self.message_ja
        self.message_en = message_en or self.message_en
        self.detail = detail
        super().__init__(self.message_en)

    def message(self, locale: str) -> str:
        """The message in ``locale`` ("ja" or "en"), Japanese by default."""
        return self.message_en if locale == "en" else self.message_ja

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer must carry (``Retry-After`` for throttling and outages)."""
        return {}


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this user)."""

    code = "not-found"
    status = 404
    message_ja = "お探しのものは見つかりませんでした。"
    message_en = "Not found."


class InvalidInput(DomainError):
    """Input that fails validation; ``field`` names the form field when there is one."""

    code = "invalid-input"
    status = 400
    message_ja = "入力内容に誤りがあります。"
    message_en = "The input is not valid."


class Conflict(DomainError):
    """The request conflicts with the current state (e.g. borrowing a book twice)."""

    code = "conflict"
    status = 409
    message_ja = "現在の状態では処理できません。"
    message_en = "The request conflicts with the current state."


class Forbidden(DomainError):
    """The user is known but may not do this."""

    code = "forbidden"
    status = 403
    message_ja = "この操作は許可されていません。"
    message_en = "You are not allowed to do this."


class ServiceUnavailable(DomainError):
    """An outside system we depend on (the ILS, the mail server) is not answering."""

    code = "service-unavailable"
    status = 503
    message_ja = "一時的に利用できません。しばらくしてからお試しください。"
    message_en = "Temporarily unavailable. Please try again later."
