"""MARC21 bibliographic records, ISO 2709 (UTF-8 or MARC-8) or MARCXML, read one record at a time.

ISO 2709 goes through pymarc's reader (MARC-8 and its East Asian character set converted to Unicode);
MARCXML is streamed with the hardened parser of ``xmlsafe`` and turned into pymarc records. 880
fields linked by ``$6`` carry the other script of a field: the kanji/kana form becomes the title or
name, a form written only in kana becomes its reading (ヨミ), a romanisation is left out.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import BinaryIO

import pymarc
from lxml import etree

from catalog_import.onix_codes import LANGUAGES
from catalog_import.readings import has_kana, kana_reading
from catalog_import.records import ImportRecord, ParsedItem, Problem
from catalog_import.text import html_to_text, tidy
from catalog_import.xmlsafe import UnsafeXML, clear_seen, hardened_iterparse, local_name, refuse_entity_declarations
from elibrary.catalog.credits import ContributorCredit, SubjectEntry

SOURCE = "marc"
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TRAILING = re.compile(r"[\s/:;,.=]+$")

RELATOR_TERMS = {
    "著": "aut", "作": "aut", "文": "aut", "author": "aut", "訳": "trl", "翻訳": "trl", "translator": "trl",
    "絵": "ill", "画": "ill", "イラスト": "ill", "illustrator": "ill", "編": "edt", "編集": "edt", "編著": "edt",
    "editor": "edt", "監修": "sup", "写真": "pht", "photographer": "pht", "朗読": "nrt", "narrator": "nrt",
}
RELATOR_CODES = {"aut", "trl", "ill", "edt", "sup", "pht", "nrt", "ctb"}


def parse_marc(stream: BinaryIO) -> Iterator[ParsedItem]:
    """Records (and problems) of an ISO 2709 or MARCXML file, detected from its first bytes."""
    head = stream.read(64)
    stream.seek(0)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        yield from _parse_xml(stream)
    else:
        yield from _parse_iso2709(stream)


def _parse_iso2709(stream: BinaryIO) -> Iterator[ParsedItem]:
    reader = pymarc.MARCReader(stream, to_unicode=True, force_utf8=False, utf8_handling="strict", permissive=True)
    number = 0
    for marc_record in _quietly(reader):
        number += 1
        position = f"record {number}"
        if marc_record is None:
            exc = reader.current_exception
            yield Problem(position, f"MARCレコードを読み込めません（{type(exc).__name__}）。レコード長・ディレクトリ・文字コードを確認してください。",
                          f"The MARC record cannot be read ({type(exc).__name__}: {exc}); check its length, directory and encoding.")
            continue
        yield record_from_marc(marc_record, position)


def _quietly(reader):
    # pymarc warns about odd subfield codes while decoding; the record is still usable, and a warning
    # must not turn into an error (tests run with warnings as errors) or reach the operator's console.
    iterator = iter(reader)
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


def _parse_xml(stream: BinaryIO) -> Iterator[ParsedItem]:
    number = 0
    checked = False
    try:
        for event, element in hardened_iterparse(stream, ["{*}record", "{*}collection"]):
            if not checked:
                refuse_entity_declarations(element)
                checked = True
            if event != "end" or local_name(element.tag) != "record":
                continue
            number += 1
            try:
                marc_record = _xml_record(element)
            except ValueError as exc:
                yield Problem(f"record {number}", f"MARCXMLのレコードが正しくありません（{exc}）。", f"The MARCXML record is not valid ({exc}).")
            else:
                yield record_from_marc(marc_record, f"record {number}")
            clear_seen(element)
    except UnsafeXML:
        yield Problem("file", "エンティティ宣言（DTD）を含むファイルは安全のため読み込みません。",
                      "The file declares XML entities (DTD); refused for safety.", fatal=True)
    except etree.XMLSyntaxError as exc:
        yield Problem(f"record {number + 1}", f"XMLの形式が正しくありません（{exc.lineno}行目）。",
                      f"The XML is malformed at line {exc.lineno} ({exc.msg}).", fatal=True)


def _xml_record(element) -> pymarc.Record:
    record = pymarc.Record(leader=" " * 24)
    for child in element:
        name = local_name(child.tag)
        if name == "leader":
            leader = (child.text or "").ljust(24)[:24]
            record.leader = pymarc.Leader(leader)
        elif name == "controlfield":
            record.add_field(pymarc.Field(tag=_tag(child), data=child.text or ""))
        elif name == "datafield":
            subfields = [pymarc.Subfield(code=(sf.get("code") or " ")[:1], value=sf.text or "") for sf in child if local_name(sf.tag) == "subfield"]
            indicators = pymarc.Indicators((child.get("ind1") or " ")[:1] or " ", (child.get("ind2") or " ")[:1] or " ")
            record.add_field(pymarc.Field(tag=_tag(child), indicators=indicators, subfields=subfields))
    return record


def _tag(element) -> str:
    tag = (element.get("tag") or "").strip()
    if not re.fullmatch(r"[0-9A-Za-z]{3}", tag):
        raise ValueError(f"bad tag {tag[:10]!r}")
    return tag


def _clean(value: str | None) -> str:
    return _TRAILING.sub("", tidy(value))


def _linked(record: pymarc.Record) -> dict[str, pymarc.Field]:
    """880 fields by the field they belong to: ``"245-01"`` → the 880 whose ``$6`` is ``245-01/$1``."""
    links = {}
    for field in record.get_fields("880"):
        link = (field.get("6") or "")[:6]
        if re.fullmatch(r"\d{3}-\d{2}", link):
            links[link] = field
    return links


def _forms(field: pymarc.Field, links: dict[str, pymarc.Field]) -> list[pymarc.Field]:
    link = field.get("6") or ""
    if link.startswith("880-"):
        other = links.get(f"{field.tag}-{link[4:6]}")
        if other is not None:
            return [field, other]
    return [field]


def _script_pair(values: list[str]) -> tuple[str, str]:
    """The written form and the kana reading among a field's forms (original script over romanisation)."""
    values = [v for v in values if v]
    if not values:
        return "", ""
    written = next((v for v in values if _KANJI.search(v)), None) or next((v for v in values if _CJK.search(v)), values[0])
    reading = next((v for v in values if v != written and has_kana(v) and not _KANJI.search(v)), "")
    return written, kana_reading(reading)


def _subfields(field: pymarc.Field, codes: str) -> str:
    return _clean(" ".join(_clean(v) for c, v in _pairs(field) if c in codes))


def _pairs(field: pymarc.Field):
    return [(sf.code, sf.value) for sf in field.subfields]


def record_from_marc(marc: pymarc.Record, position: str) -> ParsedItem:
    """Our record from a pymarc ``Record``; a ``Problem`` when it has no title."""
    links = _linked(marc)
    control = marc.get("001")
    prefix = marc.get("003")
    record_id = None
    if control is not None and tidy(control.data):
        record_id = f"{tidy(prefix.data)}:{tidy(control.data)}" if prefix is not None and tidy(prefix.data) else tidy(control.data)
    record = ImportRecord(source=SOURCE, position=position, source_record_id=record_id)
    title_field = marc.get("245")
    if title_field is not None:
        forms = _forms(title_field, links)
        record.title, reading = _script_pair([_subfields(f, "a") for f in forms])
        record.title = record.title or None
        record.title_reading = reading or None
        subtitle, _ = _script_pair([_subfields(f, "b") for f in forms])
        record.subtitle = subtitle or None
        record.volume = _subfields(title_field, "n") or None
    if not record.title:
        return Problem(position, "タイトル（245$a）がありません。", "The record has no title (245 $a).", record_id=record_id or "", field="title")
    record.isbn = _isbn(marc)
    _publication(marc, links, record)
    _series(marc, links, record)
    record.contributors = _contributors(marc, links)
    record.subjects = _subjects(marc)
    record.ndc = _ndc(marc)
    record.language = _language(marc)
    record.page_count = _pages(marc)
    summaries = [_subfields(f, "a") for f in marc.get_fields("520")]
    record.description = html_to_text("\n\n".join(s for s in summaries if s)) or None
    return record


def _isbn(marc: pymarc.Record) -> str | None:
    for field in marc.get_fields("020"):
        value = field.get("a")
        if value:
            match = re.match(r"[\s]*([0-9Xx\-]{10,17})", value)
            if match:
                return match.group(1)
    return None


def _publication(marc, links, record: ImportRecord) -> None:
    fields = [f for f in marc.get_fields("264") if f.indicator2 == "1"] or marc.get_fields("260")
    if not fields:
        return
    forms = _forms(fields[0], links)
    publisher, _ = _script_pair([_subfields(f, "b") for f in forms])
    record.publisher = publisher or None
    year = re.search(r"(\d{4})(?:[.\-/年](\d{1,2}))?", fields[0].get("c") or "")
    if year:
        record.published_on = f"{year.group(1)}-{int(year.group(2) or 1):02d}-01"


def _series(marc, links, record: ImportRecord) -> None:
    for field in (*marc.get_fields("490"), *marc.get_fields("830")):
        forms = _forms(field, links)
        series, reading = _script_pair([_subfields(f, "a") for f in forms])
        if series:
            record.series_title = series
            record.series_reading = reading or None
            volume = _subfields(field, "v")
            if volume and not record.volume:
                record.volume = volume
            return


def _contributors(marc, links) -> list[ContributorCredit] | None:
    credits = []
    for field in marc.get_fields("100", "110", "111", "700", "710", "711"):
        forms = _forms(field, links)
        name, reading = _script_pair([_subfields(f, "a") for f in forms])
        if not name:
            continue
        credits.append(ContributorCredit(name, reading, _role(field)))
    return list(dict.fromkeys(credits)) or None


def _role(field: pymarc.Field) -> str:
    code = (field.get("4") or "").strip().lower()
    if code in RELATOR_CODES:
        return code
    term = _clean(field.get("e") or "").lower()
    return RELATOR_TERMS.get(term, "aut" if field.tag.startswith("1") else "ctb")


def _subjects(marc) -> list[SubjectEntry] | None:
    subjects = []
    for field in marc.get_fields("600", "610", "650", "651", "653"):
        parts = [_clean(v) for c, v in _pairs(field) if c in ("a" if field.tag == "653" else "abcdvxyz")]
        term = "--".join(p for p in parts if p)
        if not term:
            continue
        if field.tag == "653":
            scheme = "keyword"
        elif field.indicator2 == "7":
            scheme = (field.get("2") or "keyword").strip().lower()[:20]
        else:
            scheme = {"0": "lcsh", "1": "lcsh-child"}.get(field.indicator2 or "", "keyword")
        subjects.append(SubjectEntry(term, scheme=scheme))
    return list(dict.fromkeys(subjects)) or None


def _ndc(marc) -> str | None:
    for field in marc.get_fields("084"):
        source = (field.get("2") or "").lower()
        if source.startswith(("njb", "ndc")) and field.get("a"):
            return tidy(field.get("a"))
    return None


def _language(marc) -> str | None:
    field = marc.get("041")
    code = (field.get("a") if field is not None else None) or ""
    if not code:
        fixed = marc.get("008")
        code = fixed.data[35:38] if fixed is not None and len(fixed.data) >= 38 else ""
    code = tidy(code).lower()
    if not re.fullmatch(r"[a-z]{3}", code):
        return None
    return LANGUAGES.get(code, code)


def _pages(marc) -> int | None:
    field = marc.get("300")
    match = re.search(r"(\d+)\s*(?:p\b|p\.|pages|ページ|頁)", field.get("a") or "") if field is not None else None
    return int(match.group(1)) if match else None

