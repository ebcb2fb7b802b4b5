"""The QR reader of the school sign-in page: ``jsqr`` from npm (``readers/node_modules``, installed by
``make frontend``), served as it ships, like the readers' engines and the LIFF SDK."""
from __future__ import annotations

import importlib.util
from pathlib import Path

READER_FILE = "jsqr/dist/jsQR.js"


def _node_modules() -> Path:
    # Found, not imported: elibrary never imports the readers package (docs/architecture.md).
    spec = importlib.util.find_spec("readers")
    folder = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else Path("readers")
    return folder / "node_modules"


class ReaderMissing(RuntimeError):
    """``jsqr`` is not installed in ``readers/node_modules`` (run ``make frontend``)."""


def read() -> bytes:
    """The reader's script (a UMD file that defines ``window.jsQR``)."""
    path = _node_modules() / READER_FILE
    if not path.is_file():
        raise ReaderMissing("jsqr is not installed in readers/node_modules (make frontend)")
    return path.read_bytes()
