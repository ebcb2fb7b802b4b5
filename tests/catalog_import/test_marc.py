"""MARC21: ISO 2709 in UTF-8 and MARC-8 (with the East Asian character set), MARCXML, 880 linked fields."""
from __future__ import annotations

import io

import pymarc
import pytest

from catalog_import.marc import parse_marc
from catalog_import.records import ImportRecord, Problem
from elibrary.catalog.credits import ContributorCredit, SubjectEntry
from tests.conftest import EXTERNAL, FILES

PYMARC = EXTERNAL / "marc" / "pymarc-test"


def parse(data: bytes) -> list:
    return list(parse_marc(io.BytesIO(data)))


def marc8_line(text: str) -> str:
    """The MARC-8 bytes (as latin-1 text, the way pymarc writes non-UTF-8 records) of a line of pymarc's CJK test pairs."""
    utf8 = (PYMARC / "test_utf8.txt").read_text(encoding="utf-8").split("\n")
    marc8 = (PYMARC / "test_marc8.txt").read_bytes().split(b"\n")
    return marc8[utf8.index(text)].decode("latin-1")


def marc8_cjk_record() -> bytes:
    """A MARC-8 record as CJK cataloguing writes it: romanised fields, original script in linked 880s."""
    record = pymarc.Record(leader="00000nam  2200000 a 4500", to_unicode=False)
    record.add_field(
        pymarc.Field(tag="001", data="cjk0001"),
        pymarc.Field(tag="100", indicators=pymarc.Indicators("1", " "),
                     subfields=[pymarc.Subfield("6", "880-02"), pymarc.Subfield("a", "Nishiwaki, Junzaburo,")]),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                     subfields=[pymarc.Subfield("6", "880-01"), pymarc.Subfield("a", "Nishiwaki Junzaburo no kenkyu :")]),
        pymarc.Field(tag="490", indicators=pymarc.Indicators("0", " "),
                     subfields=[pymarc.Subfield("6", "880-03"), pymarc.Subfield("a", "Shintensha sensho ;")]),
        pymarc.Field(tag="880", indicators=pymarc.Indicators("1", "0"),
                     subfields=[pymarc.Subfield("6", "245-01/$1"), pymarc.Subfield("a", marc8_line("西脇 順三郎 の 研究 :"))]),
        pymarc.Field(tag="880", indicators=pymarc.Indicators("1", " "),
                     subfields=[pymarc.Subfield("6", "100-02/$1"), pymarc.Subfield("a", marc8_line("西脇 順三郎,"))]),
        pymarc.Field(tag="880", indicators=pymarc.Indicators("0", " "),
                     subfields=[pymarc.Subfield("6", "490-03/$1"), pymarc.Subfield("a", marc8_line("新典社 選書 ;"))]),
    )
    return record.as_marc()


def test_marc8_cjk_record_takes_the_original_script_from_880():
    (record,) = parse(marc8_cjk_record())
    assert isinstance(record, ImportRecord)
    assert record.title == "西脇 順三郎 の 研究"
    assert record.title_reading is None  # a romanisation is not a reading (ヨミ)
    assert record.contributors == [ContributorCredit("西脇 順三郎", "", "aut")]
    assert record.series_title == "新典社 選書"


def test_marcxml_with_kana_readings_in_880():
    first, untitled = parse((FILES / "catalog_import" / "jp_marcxml.xml").read_bytes())
    assert (first.source_record_id, first.title, first.title_reading) == ("JTNDL:JP000001", "吾輩は猫である", "ワガハイ ワ ネコ デ アル")
    assert first.contributors == [ContributorCredit("夏目, 漱石", "ナツメ, ソウセキ", "aut"), ContributorCredit("山田, 花子", "", "ill")]
    assert (first.series_title, first.series_reading, first.volume) == ("岩波文庫", "イワナミ ブンコ", "緑10-1")
    assert (first.isbn, first.ndc, first.language, first.page_count) == ("9784090000034", "913.6", "ja", 320)
    assert (first.publisher, first.published_on) == ("岩波書店", "2024-04-01")
    assert first.subjects == [SubjectEntry("猫", scheme="ndlsh")]
    assert first.description == "猫の目から見た明治の人間模様。"  # markup reduced to text, script dropped
    assert isinstance(untitled, Problem) and untitled.record_id == "JP000002" and "245" in untitled.reason_en


def test_pymarc_samples_utf8_marc8_and_marcxml():
    records = parse((PYMARC / "test.dat").read_bytes())
    assert len(records) == 10 and all(isinstance(r, ImportRecord) for r in records)
    assert records[0].title == "ActivePerl with ASP and ADO" and records[0].isbn == "0471383147"
    (marc8,) = parse((PYMARC / "marc8.dat").read_bytes())
    (utf8,) = parse((PYMARC / "utf8_with_leader_flag.dat").read_bytes())
    assert marc8.title == utf8.title == "Escape from loneliness"
    batch = parse((PYMARC / "batch.xml").read_bytes())
    assert [r.title for r in batch] == ["The Great Ray Charles", "The White House"]
    assert batch[0].source_record_id == "DLC:5637241"


def test_records_with_wrong_lengths_are_problems_and_the_good_ones_still_come():
    items = parse((PYMARC / "bad_records.mrc").read_bytes())
    assert [type(i).__name__ for i in items].count("ImportRecord") == 2
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(problems) >= 5 and all(p.position.startswith("record ") and "MARC record cannot be read" in p.reason_en for p in problems)


def test_a_leader_claiming_more_than_the_file_holds():
    good = marc8_cjk_record()
    lying = b"99999" + good[5:]
    items = parse(good + lying)
    assert isinstance(items[0], ImportRecord) and isinstance(items[-1], Problem)


def test_a_bad_tag_in_marcxml_rejects_only_its_record():
    (problem,) = parse((PYMARC / "bad_tag.xml").read_bytes())
    assert isinstance(problem, Problem) and "tag" in problem.reason_en


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE collection [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE collection [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
], ids=["xxe", "billion-laughs"])
def test_marcxml_entity_declarations_are_refused(doctype):
    xml = (f'<?xml version="1.0"?>{doctype}<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000 i 4500</leader>'
           '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">&xxe;&c;</subfield></datafield></record></collection>')
    items = parse(xml.encode())
    assert len(items) == 1 and isinstance(items[0], Problem) and items[0].fatal and "entities" in items[0].reason_en
