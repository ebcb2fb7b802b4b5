"""Packing an unpacked EPUB directory into a zip (for demo content and tests): mimetype first, stored."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path


def pack_epub_directory(root: str | os.PathLike) -> bytes:
    """The bytes of an EPUB zip made from the unpacked publication in ``root``."""
    root = Path(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), (root / "mimetype").read_bytes().strip(),
                         compress_type=zipfile.ZIP_STORED)
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and relative != "mimetype":
                archive.write(path, relative, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
