"""ONIX 3.0/3.1 parsing: reference and short tags, Japanese readings, codes mapped, hostile XML refused."""
from __future__ import annotations

import io
from datetime import date

import pytest

from catalog_import.onix import parse_onix
from catalog_import.onix_validate import schema_path, validate_onix
from catalog_import.records import ImportRecord, Price, Problem
from elibrary.catalog.credits import ContributorCredit, SubjectEntry
from tests.conftest import EXTERNAL, FILES

SAMPLES = EXTERNAL / "onix" / "samples-onixcheck"
JP_REF = FILES / "catalog_import" / "jp_onix30_ref.xml"
JP_SHORT = FILES / "catalog_import" / "jp_onix31_short.xml"


def parse(data: bytes | str) -> list:
    return list(parse_onix(io.BytesIO(data.encode() if isinstance(data, str) else data)))


def message(products: str, root: str = '<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0">') -> str:
    return f'<?xml version="1.0"?>{root}<Header><Sender><SenderName>s</SenderName></Sender></Header>{products}</ONIXMessage>'


def test_japanese_record_with_readings_roles_subjects_and_supply():
    first, bad_isbn, picture_book = list(parse_onix(io.BytesIO(JP_REF.read_bytes())))
    assert isinstance(first, ImportRecord)
    assert (first.source, first.position, first.source_record_id) == ("onix", "product 1", "jp.midori.0001")
    assert (first.title, first.title_reading, first.subtitle) == ("星と海の物語", "ホシトウミノモノガタリ", "夏休みの冒険")
    assert (first.series_title, first.series_reading, first.volume) == ("森のなかまシリーズ", "モリ ノ ナカマ シリーズ", "3")
    assert first.contributors == [  # in SequenceNumber order, ONIX roles as MARC relators
        ContributorCredit("佐藤 太郎", "サトウ タロウ", "aut"),
        ContributorCredit("鈴木 花子", "スズキ ハナコ", "ill"),
        ContributorCredit("Jane Smith", "", "trl"),
    ]
    assert first.isbn == "9784090000010" and first.ndc == "913.6" and first.language == "ja"
    assert SubjectEntry("C8093", scheme="ccode") in first.subjects
    assert [s.term for s in first.subjects if s.scheme == "keyword"] == ["冒険", "海", "夏休み"]  # B2 (not for display) left out
    assert first.audience == "children"  # Cコード 8xxx: children's books
    assert (first.age_min, first.age_max, first.page_count) == (8, 12, 128)
    assert first.publisher == "みどり出版" and first.published_on == date(2024, 4, 1)
    assert first.cover_url == "https://covers.example.jp/9784090000010.jpg"
    assert first.prices == [Price("1540", "JPY", "02")] and first.availability == "20"
    assert first.format == "epub-reflowable"
    assert bad_isbn.isbn == "9784090000011"  # the check digit is the apply step's business (same rule as the admin)
    assert picture_book.title_reading == "ウミノエホン"  # a title element written in kana is the reading
    assert picture_book.format == "epub-fixed" and picture_book.audience == "children"
    assert picture_book.publisher == "えほん館" and picture_book.published_on == date(2024, 3, 1)


def test_description_html_is_reduced_to_text_and_scripts_dropped():
    first = next(iter(parse_onix(io.BytesIO(JP_REF.read_bytes()))))
    assert first.description == "星と海をめぐる夏の物語。\n\n第3巻。"
    escaped = message("<Product><RecordReference>r</RecordReference><NotificationType>03</NotificationType>"
                      "<DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
                      "<TitleText>t</TitleText></TitleElement></TitleDetail></DescriptiveDetail>"
                      "<CollateralDetail><TextContent><TextType>03</TextType><Text textformat=\"02\">"
                      "&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;end</Text>"
                      "</TextContent></CollateralDetail></Product>")
    (record,) = parse(escaped)
    assert record.description == "bold end"


def test_short_tags_and_3_1_namespace_give_the_same_record():
    reference = next(iter(parse_onix(io.BytesIO(JP_REF.read_bytes()))))
    (short,) = list(parse_onix(io.BytesIO(JP_SHORT.read_bytes())))
    assert short.fingerprint() == reference.fingerprint()


def test_onixcheck_samples():
    (google,) = list(parse_onix(io.BytesIO((SAMPLES / "valid_google_onix_3.xml").read_bytes())))
    assert (google.title, google.subtitle, google.isbn, google.language) == ("This Is My Distinctive Title", "This Is A Subtitle", "9789999999991", "en")
    assert google.contributors == [ContributorCredit("Jane Smith", "", "aut")]
    assert google.description == "I am a description of the book." and google.page_count == 1234
    for name in ("valid_onix3_ref.xml", "valid_onix3_ref_ns.xml", "valid_onix3_short.xml"):
        (problem,) = list(parse_onix(io.BytesIO((SAMPLES / name).read_bytes())))
        assert isinstance(problem, Problem) and problem.record_id == "org.john-doe.some-id" and "title" in problem.reason_en
    (old,) = list(parse_onix(io.BytesIO((SAMPLES / "valid_onix2_ref.xml").read_bytes())))
    assert old.fatal and "ONIX 2.1" in old.reason_en
    (wrong_root,) = list(parse_onix(io.BytesIO((SAMPLES / "invalid_onix_root.xml").read_bytes())))
    assert wrong_root.fatal and "Not an ONIX file" in wrong_root.reason_en


def test_delete_notification_marks_the_record_withdrawn():
    (record,) = parse(message("<Product><RecordReference>gone</RecordReference><NotificationType>05</NotificationType>"
                              "<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9784090000027</IDValue></ProductIdentifier></Product>"))
    assert record.withdrawn and record.isbn == "9784090000027"


XXE = """<?xml version="1.0"?>
<!DOCTYPE ONIXMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ONIXMessage release="3.0"><Product><RecordReference>&xxe;</RecordReference>
<DescriptiveDetail><TitleDetail><TitleElement><TitleText>&xxe;</TitleText></TitleElement></TitleDetail></DescriptiveDetail></Product></ONIXMessage>"""
BOMB = """<?xml version="1.0"?>
<!DOCTYPE ONIXMessage [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>
<ONIXMessage release="3.0"><Product><RecordReference>r</RecordReference>
<DescriptiveDetail><TitleDetail><TitleElement><TitleText>&f;&f;&f;&f;&f;</TitleText></TitleElement></TitleDetail></DescriptiveDetail></Product></ONIXMessage>"""


@pytest.mark.parametrize("payload", [XXE, BOMB], ids=["xxe", "billion-laughs"])
def test_entity_declarations_are_refused_without_expanding_anything(payload):
    items = parse(payload)
    assert len(items) == 1 and isinstance(items[0], Problem) and items[0].fatal
    assert "entities" in items[0].reason_en
    assert "root:" not in items[0].reason_en


def test_a_truncated_file_keeps_the_records_before_the_break():
    text = JP_REF.read_text(encoding="utf-8")
    cut = text[: text.index("<RecordReference>jp.midori.0003")]
    items = parse(cut)
    assert [type(i) for i in items] == [ImportRecord, ImportRecord, Problem]
    assert items[-1].fatal and "malformed" in items[-1].reason_en


def test_a_product_without_title_is_a_problem_with_its_id():
    (problem,) = parse(message("<Product><RecordReference>untitled</RecordReference><NotificationType>03</NotificationType></Product>"))
    assert problem.record_id == "untitled" and problem.field == "title" and not problem.fatal


def test_validation_against_the_editeur_schemas():
    assert validate_onix(io.BytesIO((SAMPLES / "valid_google_onix_3.xml").read_bytes()), schema_path(None)) == []
    assert validate_onix(io.BytesIO((SAMPLES / "valid_onix3_short.xml").read_bytes()), schema_path(None)) == []  # namespace added
    problems = validate_onix(io.BytesIO((SAMPLES / "invalid_google_onix_3.xml").read_bytes()), schema_path(None))
    assert any("USDD" in p.reason_en for p in problems) and all(p.position.startswith("line ") for p in problems)
    script = validate_onix(io.BytesIO(JP_SHORT.read_bytes()), schema_path(None))  # 3.1 short-tag schema picked from the namespace
    assert script and "script" in script[0].reason_en
    bomb = validate_onix(io.BytesIO(BOMB.encode()), schema_path(None))
    assert bomb[0].fatal and "entities" in bomb[0].reason_en
