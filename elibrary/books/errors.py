"""Why a book file is refused: one class per reason, each with a Japanese and an English message."""
from __future__ import annotations

from elibrary.errors import DomainError, NotFound


class BookFileError(DomainError):
    """The book file cannot be used safely; nothing was read from it beyond the check that failed."""

    code = "invalid-book-file"
    status = 422
    message_ja = "この本のファイルは壊れているか、安全に読み込めません。"
    message_en = "The book file is damaged or cannot be read safely."


class BrokenContainer(BookFileError):
    """Not a readable zip, or its container/package XML is malformed."""

    code = "broken-container"
    message_ja = "EPUBファイルが壊れています（ZIPまたはパッケージ文書を読み込めません）。"
    message_en = "The EPUB file is broken (its zip or package document cannot be read)."


class MissingMimetype(BookFileError):
    """No ``mimetype`` entry, or it does not say ``application/epub+zip``."""

    code = "missing-mimetype"
    message_ja = "EPUBの mimetype ファイルがないか、内容が正しくありません。"
    message_en = "The EPUB has no mimetype entry, or it is not application/epub+zip."


class MissingContainer(BookFileError):
    """No ``META-INF/container.xml``, or it names no package document."""

    code = "missing-container"
    message_ja = "EPUBに META-INF/container.xml がないか、パッケージ文書を指していません。"
    message_en = "The EPUB has no META-INF/container.xml, or it names no package document."


class UnsafeEntryName(BookFileError):
    """An entry name that could escape the package: ``..``, an absolute path, a backslash, a drive."""

    code = "unsafe-entry-name"
    message_ja = "EPUB内に危険なファイル名（../ や絶対パスなど）があります。"
    message_en = "The EPUB contains an unsafe file name (such as ../ or an absolute path)."


class ZipBombSuspected(BookFileError):
    """An entry or the archive would expand to an absurd size or by an absurd ratio."""

    code = "zip-bomb"
    message_ja = "EPUB内のファイルの展開後サイズが異常に大きいため、読み込みを中止しました。"
    message_en = "An entry in the EPUB expands to an absurd size; the file was refused."


class TooManyEntries(BookFileError):
    """More entries than any real book has."""

    code = "too-many-entries"
    message_ja = "EPUB内のファイル数が多すぎます。"
    message_en = "The EPUB contains too many files."


class EntryTooLarge(BookFileError):
    """A single entry is larger than a caller's bound (e.g. an XML document read into memory)."""

    code = "entry-too-large"
    message_ja = "EPUB内のファイルが大きすぎて読み込めません。"
    message_en = "A file inside the EPUB is too large to read."


class UnsupportedEncryption(BookFileError):
    """Zip-level encryption or DRM we cannot (and must not try to) read."""

    code = "unsupported-encryption"
    message_ja = "暗号化（DRM）されたEPUBには対応していません。"
    message_en = "Encrypted (DRM-protected) EPUB files are not supported."


class EntryNotFound(NotFound):
    """No such file inside the book."""

    code = "entry-not-found"
    message_ja = "本の中にそのファイルはありません。"
    message_en = "That file is not in the book."
