"""Each check-digit rule with numbers worked out in published examples (or by hand, step shown)."""
from __future__ import annotations

import pytest

from elibrary.cards.checkdigits import ALGORITHMS, CheckDigitError, check_character, is_valid


@pytest.mark.parametrize(
    ("algorithm", "data", "expected"),
    [
        ("mod10w21", "12345678", "2"),  # aimjal's example: split sum 38 -> 10 - 8
        ("mod10w21", "7992739871", "3"),  # the Luhn rule's textbook number
        ("mod10w21sum", "12345678", "4"),  # aimjal's example: whole sum 56 -> 10 - 6
        ("mod10w21sum", "5", "0"),  # 5*2 = 10, remainder 0 gives 0
        ("mod10w31", "400638133393", "1"),  # EAN-13 4006381333931
        ("mod10w31", "12345", "7"),  # 1*3+2+3*3+4+5*3... from the right: 5*3+4+3*3+2+1*3 = 33 -> 7
        ("mod11", "12345", "5"),  # 5*2+4*3+3*4+2*5+1*6 = 50, 50 % 11 = 6, 11 - 6
        ("mod11", "1", "9"),  # 1*2 = 2 -> 11 - 2
        ("mod11", "6", "0"),  # 6*2 = 12, remainder 1 gives 0
        ("mod11w2-10", "030640615", "2"),  # ISBN 0-306-40615-2
        ("mod16", "37859", "+"),  # A37859B in the published example: A37859+B (start A, stop B below)
        ("7dr", "123456", "4"),  # 123456 = 7 * 17636 + 4
        ("7dsr", "123456", "3"),  # 7 - 4
        ("7dsr", "14", "7"),  # remainder 0 gives 7
        ("9dr", "123456", "3"),  # digit sum 21, 21 % 9 = 3
        ("9dsr", "123456", "6"),  # 9 - 3
        ("none", "123456", ""),
    ],
)
def test_known_numbers(algorithm, data, expected):
    assert check_character(algorithm, data, start="A", stop="B") == expected


def test_mod16_counts_the_start_and_stop():
    assert check_character("mod16", "37859", "A", "B") == "+"
    assert check_character("mod16", "37859", "A", "A") != "+"  # 16+32+16 instead of 16+32+17
    assert check_character("mod16", "0", "A", "A") == "0"  # 16 + 0 + 16 = 32, remainder 0: never 16 ("A")


def test_is_valid_accepts_the_right_digit_only():
    assert is_valid("mod10w21", "123456782")
    assert not is_valid("mod10w21", "123456783")
    assert is_valid("7dr", "1234564") and not is_valid("7dr", "1234565")
    assert is_valid("none", "anything")


@pytest.mark.parametrize("algorithm", [a for a in ALGORITHMS if a not in ("none", "mod16")])
def test_digit_rules_refuse_letters(algorithm):
    with pytest.raises(CheckDigitError):
        check_character(algorithm, "12A4")


def test_unknown_rule_is_refused():
    with pytest.raises(CheckDigitError):
        check_character("mod97", "1234")
