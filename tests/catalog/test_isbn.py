import pytest

from elibrary.catalog.isbn import (
    InvalidISBN,
    check_digit_10,
    format_isbn,
    is_valid_isbn,
    isbn13_to_10,
    make_isbn13,
    normalize_isbn,
    parse_optional_isbn,
)
from elibrary.catalog.ndc import InvalidNDC, normalize_ndc, top_class
from elibrary.errors import InvalidInput


@pytest.mark.parametrize(
    "given",
    [
        "9784101010014",
        "978-4-10-101001-4",
        "978 4 10 101001 4",
        "ISBN978-4-10-101001-4",
        "ISBN-13: 978-4-10-101001-4",
        "９７８－４－１０－１０１００１－４",  # full-width digits and hyphens
        "978‐4‐10‐101001‐4",  # U+2010 hyphens pasted from a web page
        "4-10-101001-3",  # ISBN-10
        "410101001３",
    ],
)
def test_accepts_the_forms_people_type(given):
    assert normalize_isbn(given) == "9784101010014"


def test_isbn10_with_x_check_digit():
    assert check_digit_10("080442957") == "X"
    assert normalize_isbn("0-8044-2957-X") == "9780804429573"
    assert normalize_isbn("0-8044-2957-x") == "9780804429573"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("978-4-10-101001-3", "check digit"),
        ("4-10-101001-5", "check digit"),
        ("97841010100", "10 or 13 digits"),
        ("978410101001A", "other than digits"),
        ("1234567890128", "978 or 979"),
        ("", "10 or 13 digits"),
        ("X" * 5000, "10 or 13 digits"),
    ],
)
def test_rejects_malformed_with_a_clear_message(given, reason):
    with pytest.raises(InvalidISBN) as info:
        normalize_isbn(given)
    error = info.value
    assert isinstance(error, InvalidInput)
    assert reason in error.message_en
    assert "ISBN" in error.message_ja and "正しくありません" in error.message_ja
    assert error.detail["field"] == "isbn"
    assert len(error.message_en) < 200  # a 5000-character input is not echoed back whole


def test_optional_blank_means_none():
    assert parse_optional_isbn(None) is None
    assert parse_optional_isbn("  ") is None
    assert parse_optional_isbn(" - ") is None
    with pytest.raises(InvalidISBN):
        parse_optional_isbn("123")


def test_is_valid_and_conversions():
    assert is_valid_isbn("978-4-10-101001-4")
    assert not is_valid_isbn("978-4-10-101001-5")
    assert isbn13_to_10("9784101010014") == "4101010013"
    assert isbn13_to_10("9791032305690") is None
    assert normalize_isbn("979-10-323-0569-0") == "9791032305690"
    assert make_isbn13("978410101001") == "9784101010014"
    with pytest.raises(ValueError):
        make_isbn13("97841010100")


@pytest.mark.parametrize(
    ("digits", "shown"),
    [
        ("9784101010014", "978-4-10-101001-4"),
        ("9784062748681", "978-4-06-274868-1"),
        ("9784003101018", "978-4-00-310101-8"),
        ("9784894710009", "978-4-89471-000-9"),  # five-digit registrant
        ("9784999999903", "978-4-9999999-0-3"),  # the demo's seven-digit registrant
        ("9780804429573", "978-080442957-3"),  # other groups: prefix and check digit set apart
        ("12345", "12345"),
    ],
)
def test_format_for_display(digits, shown):
    assert format_isbn(digits) == shown
    if len(digits) == 13:
        assert normalize_isbn(shown) == digits


def test_ndc_validation_and_top_classes():
    assert normalize_ndc("913.6") == "913.6"
    assert normalize_ndc(" ９１３．６ ") == "913.6"
    assert normalize_ndc("007") == "007"
    assert normalize_ndc("9") == "9"
    assert normalize_ndc("") == "" and normalize_ndc(None) == ""
    for bad in ("91.3", "913.", "abc", "9136.1", "913.6.1", "E"):
        with pytest.raises(InvalidNDC) as info:
            normalize_ndc(bad)
        assert info.value.detail["field"] == "ndc"
        assert "913.6" in info.value.message_ja
    assert top_class("913.6").name_ja == "文学"
    assert top_class("007.6").name("en") == "General works"
    assert top_class("") is None
