"""An EPUB read in place: a zip on a seekable stream, checked once, then read one entry at a time.

Nothing is extracted to disk and no entry is read whole unless the caller asks for a bounded read.
Opening refuses archives that could hurt us or another reader of the same file: names that escape
the package, duplicate names, zip bombs (absurd declared sizes or ratios), too many entries, zip
encryption, and a missing ``mimetype`` or ``META-INF/container.xml``.
"""
from __future__ import annotations

import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from elibrary.books.errors import (
    BrokenContainer,
    EntryNotFound,
    EntryTooLarge,
    MissingContainer,
    MissingMimetype,
    TooManyEntries,
    UnsafeEntryName,
    UnsupportedEncryption,
    ZipBombSuspected,
)

EPUB_MEDIA_TYPE = b"application/epub+zip"
CONTAINER_PATH = "META-INF/container.xml"
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_DRIVE = re.compile(r"^[A-Za-z]:")
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds no real book comes near; anything beyond them is refused before reading."""

    max_entries: int = 10_000
    max_entry_size: int = 512 * 1024 * 1024  # declared uncompressed bytes of one entry
    max_total_size: int = 2 * 1024 * 1024 * 1024  # declared uncompressed bytes of all entries
    max_ratio: int = 100  # uncompressed / compressed, checked for entries above ratio_floor
    ratio_floor: int = 1024 * 1024
    max_document_size: int = 16 * 1024 * 1024  # default bound of read_bytes (XML, XHTML, CSS)


def check_entry_name(name: str) -> str:
    """Return ``name`` if it stays inside the package; raise ``UnsafeEntryName`` otherwise."""
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or _DRIVE.match(name)
        or any(part in ("..", ".") for part in name.rstrip("/").split("/"))
        or "//" in name
    ):
        raise UnsafeEntryName(detail_name=name[:200])
    return name


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry's real name: zip tools without the UTF-8 flag wrote UTF-8 or (Japanese Windows) CP932."""
    name = info.filename
    if info.flag_bits & _UTF8_FLAG or name.isascii():
        return unicodedata.normalize("NFC", name)
    raw = name.encode("cp437")
    for encoding in ("utf-8", "cp932"):
        try:
            return unicodedata.normalize("NFC", raw.decode(encoding))
        except UnicodeDecodeError:
            continue
    return unicodedata.normalize("NFC", name)


def resolve_href(base_entry: str, href: str) -> str | None:
    """The entry an IRI in ``base_entry`` points to (percent-decoded, fragment dropped).

    ``None`` for remote or data IRIs and for references that would leave the package.
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path, encoding="utf-8", errors="strict") if parts.path else ""
    if not path:
        return base_entry
    if path.startswith("/") or "\\" in path:
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_entry), path))
    if joined.startswith("../") or joined in ("..", "."):
        return None
    return unicodedata.normalize("NFC", joined)


class EpubArchive:
    """A checked EPUB zip over a seekable stream; entries are read one at a time."""

    def __init__(self, stream: BinaryIO, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()
        self._stream = stream
        try:
            self._zip = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise BrokenContainer(detail_reason=str(exc)[:200]) from exc
        self._entries: dict[str, zipfile.ZipInfo] = {}
        self._check_entries()
        self._check_required()

    # -- checks made once, on open ---------------------------------------------------------------
    def _check_entries(self) -> None:
        infos = self._zip.infolist()
        limits = self.limits
        if len(infos) > limits.max_entries:
            raise TooManyEntries(detail_count=len(infos))
        total = 0
        for info in infos:
            name = check_entry_name(_decoded_name(info))
            if info.is_dir():
                continue
            if name in self._entries:
                raise BrokenContainer("EPUB内に同じ名前のファイルが複数あります。",
                                      "The EPUB contains two entries with the same name.")
            if info.flag_bits & _ENCRYPTED_FLAG:
                raise UnsupportedEncryption()
            size, packed = info.file_size, max(info.compress_size, 1)
            if size > limits.max_entry_size or (size > limits.ratio_floor and size / packed > limits.max_ratio):
                raise ZipBombSuspected(detail_name=name[:200])
            total += size
            if total > limits.max_total_size:
                raise ZipBombSuspected()
            self._entries[name] = info

    def _check_required(self) -> None:
        info = self._entries.get("mimetype")
        if info is None or info.file_size > 100:
            raise MissingMimetype()
        if self.read_bytes("mimetype").strip() != EPUB_MEDIA_TYPE:
            raise MissingMimetype()
        if CONTAINER_PATH not in self._entries:
            raise MissingContainer()

    # -- reading ---------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Every file entry's (decoded, NFC) name, in archive order."""
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        return unicodedata.normalize("NFC", name) in self._entries

    def info(self, name: str) -> zipfile.ZipInfo:
        """The zip entry for ``name`` (raises ``EntryNotFound``)."""
        try:
            return self._entries[unicodedata.normalize("NFC", name)]
        except KeyError:
            raise EntryNotFound(detail_name=name[:200]) from None

    def size(self, name: str) -> int:
        """Uncompressed size of the entry (as declared, and enforced while reading)."""
        return self.info(name).file_size

    def crc(self, name: str) -> int:
        """The entry's CRC-32, usable in an ETag together with the book file's hash."""
        return self.info(name).CRC

    def open_entry(self, name: str) -> BinaryIO:
        """A stream of one entry's bytes; zipfile stops at the declared size and checks the CRC."""
        try:
            return self._zip.open(self.info(name))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise BrokenContainer(detail_reason=str(exc)[:200]) from exc

    def read_bytes(self, name: str, max_size: int | None = None) -> bytes:
        """The whole entry, refused when larger than ``max_size`` (XML, XHTML, CSS: small things)."""
        bound = self.limits.max_document_size if max_size is None else max_size
        if self.size(name) > bound:
            raise EntryTooLarge(detail_name=name[:200])
        with self.open_entry(name) as entry:
            try:
                return entry.read(bound + 1)[:bound]
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # bad CRC, truncated data
                raise BrokenContainer(detail_reason=str(exc)[:200]) from exc

    def iter_range(self, name: str, start: int = 0, end: int | None = None,
                   chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield bytes ``start`` to ``end`` (exclusive) of the entry in chunks: bounded memory for media."""
        size = self.size(name)
        end = size if end is None else min(end, size)
        entry = self.open_entry(name)
        try:
            if start:
                entry.seek(start)
            left = end - start
            while left > 0:
                chunk = entry.read(min(chunk_size, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise BrokenContainer(detail_reason=str(exc)[:200]) from exc
        finally:
            entry.close()

    def close(self) -> None:
        """Close the zip and the underlying stream."""
        self._zip.close()
        self._stream.close()

    def __enter__(self) -> EpubArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_epub(stream: BinaryIO, limits: ArchiveLimits | None = None) -> EpubArchive:
    """Open and check an EPUB stream; the caller closes the returned archive (it owns the stream)."""
    try:
        return EpubArchive(stream, limits)
    except Exception:
        stream.close()
        raise
