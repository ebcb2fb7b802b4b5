"""NW-7 (Codabar, JIS X 0506) symbols drawn as SVG on the server, for the digital library card.

The bar patterns are reportlab's (``reportlab.graphics.barcode.common.Codabar``); the drawing is ours,
so the quiet zones, the wide-to-narrow ratio and the markup (a title for screen readers, no scripts)
are exactly what counter scanners and our pages need.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from reportlab.graphics.barcode.common import Codabar

from elibrary.cards.checkdigits import ALGORITHMS, CheckDigitError, check_character, is_valid
from elibrary.security.crypto import normalize_card_number

PATTERNS: dict[str, str] = Codabar.patterns  # 'b'/'s' narrow bar/space, 'B'/'S' wide
DATA_CHARS = frozenset("0123456789-$:/.+")
START_STOP = frozenset("ABCD")


class BarcodeError(ValueError):
    """The card number cannot be drawn as NW-7 with these settings."""


@dataclass(frozen=True)
class CardFormat:
    """How a library prints its card barcode: start/stop characters and the check-digit rule."""

    start: str = "A"
    stop: str = "A"
    check_digit: str = "none"
    check_digit_in_number: bool = False  # the card number already ends with its check character

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "CardFormat":
        """``ELIBRARY_CARD_START_STOP`` ("A" or "AB") and ``ELIBRARY_CARD_CHECK_DIGIT[_IN_NUMBER]``."""
        start_stop = str(settings.get("ELIBRARY_CARD_START_STOP") or "A").upper()
        start, stop = (start_stop[0], start_stop[-1]) if start_stop else ("A", "A")
        algorithm = str(settings.get("ELIBRARY_CARD_CHECK_DIGIT") or "none").lower()
        if start not in START_STOP or stop not in START_STOP or len(start_stop) > 2:
            raise BarcodeError("ELIBRARY_CARD_START_STOP must be one or two of A, B, C, D")
        if algorithm not in ALGORITHMS:
            raise BarcodeError(f"ELIBRARY_CARD_CHECK_DIGIT must be one of {', '.join(ALGORITHMS)}")
        return cls(start, stop, algorithm, bool(settings.get("ELIBRARY_CARD_CHECK_DIGIT_IN_NUMBER")))

    def symbol(self, card_number: str) -> str:
        """The full NW-7 symbol text: start, data, check character, stop."""
        data = normalize_card_number(card_number).upper()
        if not data or any(c not in DATA_CHARS for c in data):
            raise BarcodeError("an NW-7 card number has digits and - $ : / . + only")
        if self.check_digit_in_number:
            if not is_valid(self.check_digit, data, self.start, self.stop):
                raise BarcodeError("the card number's check digit is wrong")
            return self.start + data + self.stop
        try:
            check = check_character(self.check_digit, data, self.start, self.stop)
        except CheckDigitError as exc:
            raise BarcodeError(str(exc)) from None
        return self.start + data + check + self.stop


def modules(symbol: str, ratio: float = 2.5) -> list[tuple[bool, float]]:
    """The symbol as (is_bar, width in narrow units), an inter-character gap of one narrow space between characters."""
    out: list[tuple[bool, float]] = []
    for i, char in enumerate(symbol):
        if i:
            out.append((False, 1.0))
        for element in PATTERNS[char]:
            out.append((element in "bB", ratio if element.isupper() else 1.0))
    return out


def svg(symbol: str, *, narrow: float = 2.0, ratio: float = 2.5, height: float = 90.0, quiet: float = 12.0, title: str = "") -> str:
    """An SVG of the symbol: ``narrow`` px per narrow module, ``quiet`` narrow modules of white each side (≥10)."""
    if len(symbol) < 3 or symbol[0] not in START_STOP or symbol[-1] not in START_STOP or any(c not in PATTERNS for c in symbol):
        raise BarcodeError("not an NW-7 symbol")
    if not 2.0 <= ratio <= 3.0 or quiet < 10:
        raise BarcodeError("NW-7 needs a wide/narrow ratio of 2.0-3.0 and quiet zones of at least 10 modules")
    x = quiet * narrow
    rects = []
    for is_bar, width in modules(symbol, ratio):
        w = width * narrow
        if is_bar:
            rects.append(f'<rect x="{x:g}" y="0" width="{w:g}" height="{height:g}"/>')
        x += w
    total = x + quiet * narrow
    label = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total:g} {height:g}" width="{total:g}" height="{height:g}" '
        f'role="img" aria-label={quoteattr(title)} shape-rendering="crispEdges">'
        f"<title>{label}</title>"
        f'<rect width="{total:g}" height="{height:g}" fill="#fff"/><g fill="#000">{"".join(rects)}</g></svg>'
    )
