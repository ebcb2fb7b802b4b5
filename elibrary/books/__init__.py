"""Safe access to stored EPUB files: a zip read in place, one entry at a time, and its package document.

``archive.EpubArchive`` opens a seekable stream (from the storage backend) as a zip without
extracting it, refusing hostile archives; ``package.read_package`` parses ``container.xml``, the OPF
and the navigation with hardened XML parsing. The import and the readers both build on these.
"""
from elibrary.books.archive import ArchiveLimits, EpubArchive, open_epub
from elibrary.books.errors import (
    BookFileError,
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
from elibrary.books.package import Package, read_package

__all__ = [
    "ArchiveLimits", "EpubArchive", "open_epub", "Package", "read_package",
    "BookFileError", "BrokenContainer", "EntryNotFound", "EntryTooLarge", "MissingContainer",
    "MissingMimetype", "TooManyEntries", "UnsafeEntryName", "UnsupportedEncryption", "ZipBombSuspected",
]
