"""Finding and registering the Japanese TrueType fonts reportlab embeds in PDFs.

Production sets ``ELIBRARY_PDF_FONT`` to a ``.ttf`` file (a gothic face; IPAex Gothic is what Debian's
``fonts-ipaexfont`` installs); without it the usual Debian and macOS locations are tried. OpenType CFF
fonts (``.otf``, ``.ttc`` of Noto CJK) cannot be embedded by reportlab and are refused with a clear message.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elibrary.config import ConfigError

GOTHIC = "ElibraryGothic"
MINCHO = "ElibraryMincho"

GOTHIC_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/Library/Fonts/ipaexg.ttf",
)
MINCHO_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
    "/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-mincho.ttf",
    "/Library/Fonts/ipaexm.ttf",
)
TRUETYPE_SUFFIXES = (".ttf",)


class FontMissing(ConfigError):
    """No usable Japanese TrueType font: the message says what to install or set."""


@dataclass(frozen=True)
class FontSet:
    """The registered font names: ``body`` (gothic) and ``serif`` (mincho, or the gothic when absent)."""

    body: str
    serif: str
    body_path: str


_registered: dict[str, str] = {}  # reportlab's font registry is process-wide; name -> path registered


def japanese_fonts(settings: Mapping[str, Any] | None = None) -> FontSet:
    """Register (once per process) and return the Japanese fonts named by the settings or found on disk."""
    configured = (settings or {}).get("ELIBRARY_PDF_FONT")
    gothic = _checked(configured) if configured else _first(GOTHIC_CANDIDATES)
    if gothic is None:
        raise FontMissing(
            "no Japanese TrueType font for PDFs: install Debian's fonts-ipaexfont "
            "(apt-get install fonts-ipaexfont) or set ELIBRARY_PDF_FONT to a .ttf file "
            "(日本語PDF用のTrueTypeフォントがありません: fonts-ipaexfont を導入するか ELIBRARY_PDF_FONT を設定してください)"
        )
    _register(GOTHIC, gothic)
    mincho = _first(MINCHO_CANDIDATES) if not configured else None
    if mincho:
        _register(MINCHO, mincho)
    return FontSet(body=GOTHIC, serif=MINCHO if mincho else GOTHIC, body_path=gothic)


def _checked(path: str) -> str:
    candidate = Path(path)
    if not candidate.is_file():
        raise FontMissing(f"ELIBRARY_PDF_FONT: no such file {path!r} (フォントファイルがありません)")
    if candidate.suffix.lower() not in TRUETYPE_SUFFIXES:
        raise FontMissing(
            f"ELIBRARY_PDF_FONT: {candidate.name} is not a TrueType .ttf font; reportlab cannot embed OpenType CFF "
            "fonts such as Noto CJK (.otf/.ttc). Use IPAex Gothic (ipaexg.ttf) (TrueType形式の .ttf を指定してください)"
        )
    return str(candidate)


def _first(candidates: tuple[str, ...]) -> str | None:
    return next((path for path in candidates if Path(path).is_file()), None)


def _register(name: str, path: str) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _registered.get(name) == path:
        return
    pdfmetrics.registerFont(TTFont(name, path))
    _registered[name] = path
