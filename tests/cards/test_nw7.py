"""NW-7 symbols: settings, quiet zones and ratio, and a decode of the drawn SVG back into the symbol."""
from __future__ import annotations

import re

import pytest

from elibrary.cards import nw7


def _decode(svg: str) -> tuple[str, float, float]:
    """Read the bars back: returns (symbol, left quiet zone, right quiet zone) in narrow modules."""
    total = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    bars = [(float(x), float(w)) for x, w in re.findall(r'<rect x="([\d.]+)" y="0" width="([\d.]+)"', svg)]
    narrow = min(w for _, w in bars)
    elements: list[tuple[str, float]] = []
    for i, (x, w) in enumerate(bars):
        if i:
            prev_x, prev_w = bars[i - 1]
            elements.append(("s", x - prev_x - prev_w))
        elements.append(("b", w))
    chars, i = [], 0
    lookup = {pattern: char for char, pattern in nw7.PATTERNS.items()}
    while i < len(elements):
        group = elements[i : i + 7]
        pattern = "".join(kind.upper() if width > narrow * 1.5 else kind for kind, width in group)
        chars.append(lookup[pattern])
        i += 8  # seven elements and the inter-character gap
    left = bars[0][0] / narrow
    right = (total - bars[-1][0] - bars[-1][1]) / narrow
    return "".join(chars), left, right


def test_symbol_with_settings():
    assert nw7.CardFormat().symbol("１２３４ ５６７８") == "A12345678A"
    assert nw7.CardFormat("A", "B", "mod16").symbol("37859") == "A37859+B"
    assert nw7.CardFormat("C", "D", "mod10w21").symbol("12345678") == "C123456782D"
    assert nw7.CardFormat.from_settings({"ELIBRARY_CARD_START_STOP": "ab", "ELIBRARY_CARD_CHECK_DIGIT": "7DR"}).symbol("123456") == "A1234564B"
    assert nw7.CardFormat(check_digit="7dr", check_digit_in_number=True).symbol("1234564") == "A1234564A"


def test_bad_numbers_and_settings_are_refused():
    with pytest.raises(nw7.BarcodeError):
        nw7.CardFormat().symbol("AB12")
    with pytest.raises(nw7.BarcodeError):
        nw7.CardFormat(check_digit="7dr", check_digit_in_number=True).symbol("1234565")
    with pytest.raises(nw7.BarcodeError):
        nw7.CardFormat.from_settings({"ELIBRARY_CARD_START_STOP": "E"})
    with pytest.raises(nw7.BarcodeError):
        nw7.CardFormat.from_settings({"ELIBRARY_CARD_CHECK_DIGIT": "mod97"})


@pytest.mark.parametrize("symbol", ["A12345678A", "A37859+B", "C0-1$2:3/4.5D"])
def test_svg_decodes_back_with_quiet_zones(symbol):
    drawing = nw7.svg(symbol, title="<card>")
    decoded, left, right = _decode(drawing)
    assert decoded == symbol
    assert left >= 10 and right >= 10
    assert "<title>&lt;card&gt;</title>" in drawing and "<script" not in drawing


def test_ratio_and_quiet_zone_limits():
    with pytest.raises(nw7.BarcodeError):
        nw7.svg("A1A", ratio=1.5)
    with pytest.raises(nw7.BarcodeError):
        nw7.svg("A1A", quiet=4)
    wide = [w for is_bar, w in nw7.modules("A1A", ratio=3.0)]
    assert set(wide) == {1.0, 3.0}
