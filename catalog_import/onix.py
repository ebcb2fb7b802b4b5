"""ONIX for Books 3.0 and 3.1 (reference or short tags), streamed one ``<Product>`` at a time.

The message is never held whole: each product is turned into an ``ImportRecord`` and freed. Each product
is read into a ``ProductNode`` tree named by reference tags, so the extraction below reads one vocabulary.
Every product's serialised bytes are hashed (``source_hash``); a product whose hash the caller already
knows from an earlier import is not mapped at all but yielded as a ``KnownRecord`` (the re-import fast path).
Readings (ヨミ) come from the ``collationkey`` attribute (as JPRO sends them) or from a title element
written in kana (``textscript="Kana"``).
"""
from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import BinaryIO

from lxml import etree

from catalog_import import onix_codes as codes
from catalog_import.onix_tree import product_tree
from catalog_import.readings import kana_reading
from catalog_import.records import ImportRecord, KnownRecord, ParsedItem, Price, Problem
from catalog_import.text import html_to_text, optional, tidy, xhtml_text
from catalog_import.xmlsafe import UnsafeXML, clear_seen, hardened_iterparse, hardened_parser, local_name, refuse_entity_declarations
from elibrary.catalog.credits import ContributorCredit, SubjectEntry

SOURCE = "onix"
_ROOTS = ("ONIXMessage", "ONIXmessage")
_PRODUCTS = ("Product", "product")
# Part of every product hash: change it whenever the mapping below changes what a product becomes, so the
# first re-import after an upgrade maps every product again instead of calling it unchanged.
MAPPING_VERSION = b"onix-map-1"


def parse_onix(stream: BinaryIO, known: Mapping[str, int] | None = None) -> Iterator[ParsedItem]:
    """Records (and problems) of an ONIX 3.0/3.1 message read from ``stream``.

    ``known`` maps product hashes of earlier imports to their title ids: such a product is yielded as a
    ``KnownRecord`` without being mapped.
    """
    tags = [f"{{*}}{name}" for name in (*_ROOTS, *_PRODUCTS)]
    seen_root = False
    count = 0
    try:
        for event, element in hardened_iterparse(stream, tags):
            name = local_name(element.tag)
            if name in _ROOTS:
                if event == "start":
                    seen_root = True
                    problem = _check_message(element)
                    if problem:
                        yield problem
                        return
                continue
            if event != "end" or not seen_root:
                continue
            count += 1
            yield _hashed_product(element, count, known)
            clear_seen(element)
    except UnsafeXML:
        yield _fatal(count, "エンティティ宣言（DTD）を含むファイルは安全のため読み込みません。", "The file declares XML entities (DTD); refused for safety.")
        return
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", 0) or 0
        yield _fatal(count, f"XMLの形式が正しくありません（{line}行目）。ファイルが途中で切れていないか確認してください。",
                     f"The XML is malformed at line {line}; check that the file is complete. ({exc.msg})")
        return
    if not seen_root:
        yield _fatal(0, "ONIXのファイルではありません（ONIXMessage 要素がありません）。", "Not an ONIX file: there is no ONIXMessage element.")


def product_hash(xml: bytes) -> str:
    """The hash of one product's serialised bytes and of the mapping's version (32 hex digits)."""
    return hashlib.blake2b(xml, digest_size=16, person=MAPPING_VERSION).hexdigest()


def _hashed_product(element, number: int, known: Mapping[str, int] | None) -> ParsedItem:
    xml = etree.tostring(element, with_tail=False)
    digest = product_hash(xml)
    title_id = known.get(digest) if known else None
    if title_id is not None:
        return KnownRecord(SOURCE, f"product {number}", digest, title_id, functools.partial(_reread, xml, number, digest))
    item = map_product(element, number)
    if isinstance(item, ImportRecord):
        item.source_hash = digest
    return item


def _reread(xml: bytes, number: int, digest: str) -> ParsedItem:
    """Map a ``KnownRecord`` after all, from the bytes it was hashed from."""
    item = map_product(etree.fromstring(xml, hardened_parser()), number)
    if isinstance(item, ImportRecord):
        item.source_hash = digest
    return item


def _fatal(count: int, ja: str, en: str) -> Problem:
    return Problem(position=f"product {count + 1}" if count else "file", reason_ja=ja, reason_en=en, fatal=True)


def _check_message(root) -> Problem | None:
    refuse_entity_declarations(root)
    namespace = etree.QName(root).namespace
    release = (root.get("release") or codes.NAMESPACES.get(namespace or "", "")).strip()
    if release and not release.startswith("3."):
        return _fatal(0, f"ONIX {release} には対応していません。ONIX 3.0 または 3.1 で提供を受けてください。",
                      f"ONIX {release} is not supported; ask the supplier for ONIX 3.0 or 3.1.")
    return None


def _text(node, path: str) -> str | None:
    found = node.find(path) if node is not None else None
    value = found.text if found is not None else None
    return optional(value) if value else None


def map_product(element, number: int) -> ParsedItem:
    """One ``<Product>`` as an import record (or the problem), the mapping every ONIX import shares."""
    product = product_tree(element)
    record_id = _text(product, "RecordReference")
    detail = product.find("DescriptiveDetail")
    record = ImportRecord(source=SOURCE, position=f"product {number}", source_record_id=record_id)
    record.withdrawn = _text(product, "NotificationType") == codes.NOTIFICATION_DELETE
    record.isbn = _isbn(product)
    if detail is not None:
        _titles(detail, record)
        _series(detail, record)
        record.contributors = _contributors(detail)
        record.format = _format(detail)
        record.language = _language(detail)
        record.page_count = _pages(detail)
        _subjects(detail, record)
        _audience(detail, record)
    _collateral(product.find("CollateralDetail"), record)
    _publishing(product.find("PublishingDetail"), record)
    _supply(product.find("ProductSupply"), record)
    if not record.title and not record.withdrawn:
        return Problem(record.position, "タイトル（TitleText）がありません。",
                       "The product has no title (TitleText).", record_id=record_id or "", field="title")
    return record


def _isbn(product) -> str | None:
    found = {}
    for ident in product.findall("ProductIdentifier"):
        kind, value = _text(ident, "ProductIDType"), _text(ident, "IDValue")
        if kind in codes.ISBN_ID_TYPES and value and (kind != "03" or value.startswith(("978", "979"))):
            found.setdefault(kind, value)
    return next((found[k] for k in codes.ISBN_ID_TYPES if k in found), None)


def _title_text(element) -> tuple[str | None, str]:
    """The title of a ``TitleElement`` and its reading (``collationkey``)."""
    text_el = element.find("TitleText")
    if text_el is None:
        prefix, rest = element.find("TitlePrefix"), element.find("TitleWithoutPrefix")
        if rest is None:
            return None, ""
        text = " ".join(t for t in (prefix.text if prefix is not None else "", rest.text) if t)
        reading = kana_reading(rest.get("collationkey") or "")
        return optional(text), reading
    return optional(text_el.text), kana_reading(text_el.get("collationkey") or element.get("collationkey") or "")


def _is_kana(element) -> bool:
    text_el = element.find("TitleText")
    script = (text_el.get("textscript") if text_el is not None else None) or element.get("textscript") or ""
    language = (text_el.get("language") if text_el is not None else None) or element.get("language") or ""
    return script in codes.KANA_SCRIPTS or language.lower().endswith("-hrkt")


def _elements(detail, level: str) -> tuple[object | None, str]:
    """The title element of ``level`` (01 product, 02 collection) and a reading given as a kana element."""
    main, reading = None, ""
    title_details = detail.findall("TitleDetail")
    title_details.sort(key=lambda td: _text(td, "TitleType") != "01")
    for td in title_details:
        for element in td.findall("TitleElement"):
            if (_text(element, "TitleElementLevel") or "01") != level:
                continue
            if _is_kana(element):
                reading = reading or kana_reading(_title_text(element)[0] or "")
            elif main is None:
                main = element
    return main, reading


def _titles(detail, record: ImportRecord) -> None:
    element, kana = _elements(detail, "01")
    if element is None:
        return
    record.title, reading = _title_text(element)
    record.title_reading = reading or kana or None
    record.subtitle = _text(element, "Subtitle")
    part = _text(element, "PartNumber")
    if part:
        record.volume = part


def _series(detail, record: ImportRecord) -> None:
    element, kana = _elements(detail, "02")
    if element is None:
        for collection in detail.findall("Collection"):
            element, kana = _elements(collection, "02")
            if element is None:
                element, kana = _elements(collection, "01")
            if element is not None:
                break
    if element is None:
        return
    record.series_title, reading = _title_text(element)
    record.series_reading = reading or kana or None
    part = _text(element, "PartNumber")
    if part and not record.volume:
        record.volume = part


def _contributors(detail) -> list[ContributorCredit] | None:
    credits = []
    for index, contributor in enumerate(detail.findall("Contributor")):
        name, reading = _person(contributor)
        if not name:
            continue
        role = codes.ROLES.get(_text(contributor, "ContributorRole") or "", "ctb")
        sequence = _text(contributor, "SequenceNumber") or ""
        credits.append((int(sequence) if sequence.isdigit() else 10_000 + index, ContributorCredit(name, reading, role)))
    credits.sort(key=lambda pair: pair[0])
    return [credit for _, credit in credits] or None


def _person(contributor) -> tuple[str | None, str]:
    for tag in ("PersonName", "CorporateName"):
        element = contributor.find(tag)
        if element is not None and tidy(element.text):
            return tidy(element.text), kana_reading(element.get("collationkey") or "")
    key, before = contributor.find("KeyNames"), contributor.find("NamesBeforeKey")
    if key is not None and tidy(key.text):
        # Japanese names are written family name first; Western ones given name first.
        names = [tidy(key.text), tidy(before.text) if before is not None else ""]
        reading = " ".join(r for r in (kana_reading(key.get("collationkey") or ""),
                                       kana_reading(before.get("collationkey") or "") if before is not None else "") if r)
        if not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", names[0]):
            names.reverse()
        return " ".join(n for n in names if n), reading
    for tag in ("PersonNameInverted", "CorporateNameInverted"):
        element = contributor.find(tag)
        if element is not None and tidy(element.text):
            return tidy(element.text), kana_reading(element.get("collationkey") or "")
    return None, ""


def _format(detail) -> str | None:
    form = _text(detail, "ProductForm") or ""
    details = {tidy(e.text) for e in detail.findall("ProductFormDetail")}
    if form.startswith("A"):
        return "audio"
    if "E107" in details:
        return "pdf"
    if "E201" in details:
        return "epub-fixed"
    if form.startswith("E") or "E101" in details:
        return "epub-reflowable"
    return None


def _language(detail) -> str | None:
    for language in detail.findall("Language"):
        if (_text(language, "LanguageRole") or "01") == "01":
            code = (_text(language, "LanguageCode") or "").lower()
            return codes.LANGUAGES.get(code, code) or None
    return None


def _pages(detail) -> int | None:
    for extent in detail.findall("Extent"):
        value = _text(extent, "ExtentValue") or ""
        if _text(extent, "ExtentType") in ("00", "07", "08", "10", "11") and _text(extent, "ExtentUnit") == "03" and value.isdigit():
            return int(value)
    return None


def _subjects(detail, record: ImportRecord) -> None:
    subjects: list[SubjectEntry] = []
    for subject in detail.findall("Subject"):
        scheme, code = _text(subject, "SubjectSchemeIdentifier"), _text(subject, "SubjectCode")
        heading = _text(subject, "SubjectHeadingText")
        if scheme == codes.SCHEME_NDC and code:
            record.ndc = record.ndc or code
        elif scheme == codes.SCHEME_CCODE and code:
            digits = code.upper().removeprefix("C")
            subjects.append(SubjectEntry("C" + digits, scheme="ccode"))
            if digits[:1] == codes.CCODE_CHILDREN and record.audience is None:
                record.audience = "children"
        elif scheme == codes.SCHEME_KEYWORDS and heading:
            subjects.extend(SubjectEntry(word, scheme="keyword") for word in re.split(r"\s*[;；、]\s*", heading) if word)
        elif scheme == codes.SCHEME_JP_GENRE and (heading or code):
            subjects.append(SubjectEntry(heading or code, scheme="genre"))
        elif scheme != codes.SCHEME_HIDDEN_KEYWORDS and heading:
            subjects.append(SubjectEntry(heading, scheme="keyword"))
    unique = list(dict.fromkeys(subjects))
    record.subjects = unique or None


def _audience(detail, record: ImportRecord) -> None:
    for audience in detail.findall("Audience"):
        kind, value = _text(audience, "AudienceCodeType"), _text(audience, "AudienceCodeValue")
        if kind == codes.AUDIENCE_TYPE_JP_CHILDREN:
            record.audience = "children"
        elif kind == codes.AUDIENCE_TYPE_ONIX and value in codes.ONIX_AUDIENCES:
            record.audience = codes.ONIX_AUDIENCES[value]
    for age_range in detail.findall("AudienceRange"):
        if _text(age_range, "AudienceRangeQualifier") != "17":  # interest age, years
            continue
        precisions = age_range.findall("AudienceRangePrecision")
        values = age_range.findall("AudienceRangeValue")
        for precision, value in zip(precisions, values, strict=False):
            number = tidy(value.text)
            if not number.isdigit():
                continue
            if tidy(precision.text) in ("01", "03"):
                record.age_min = int(number)
            if tidy(precision.text) in ("01", "04"):
                record.age_max = int(number)


def _collateral(collateral, record: ImportRecord) -> None:
    if collateral is None:
        return
    texts = {}
    for content in collateral.findall("TextContent"):
        element = content.find("Text")
        if element is not None:
            texts.setdefault(_text(content, "TextType"), element)
    chosen = texts.get("03") if texts.get("03") is not None else texts.get("02")
    if chosen is not None:
        record.description = html_to_text(xhtml_text(chosen.element)) or None
    for resource in collateral.findall("SupportingResource"):
        if _text(resource, "ResourceContentType") == "01" and _text(resource, "ResourceMode") == "03":
            link = _text(resource, "ResourceVersion/ResourceLink")
            if link:
                record.cover_url = link
                break


def _publishing(publishing, record: ImportRecord) -> None:
    if publishing is None:
        return
    for publisher in publishing.findall("Publisher"):
        if (_text(publisher, "PublishingRole") or "01") == "01":
            record.publisher = _text(publisher, "PublisherName")
            break
    record.publisher = record.publisher or _text(publishing, "Imprint/ImprintName")
    dates = {}
    for published in publishing.findall("PublishingDate"):
        element = published.find("Date")
        if element is not None:
            fmt = element.get("dateformat") or _text(published, "DateFormat") or "00"
            dates.setdefault(_text(published, "PublishingDateRole"), (tidy(element.text), fmt))
    chosen = dates.get("01") or dates.get("11") or dates.get("19") or next(iter(dates.values()), None)
    if chosen:
        record.published_on = onix_date(*chosen)


def onix_date(text: str, fmt: str = "00") -> date | str:
    """A ``date`` from an ONIX date (formats 00 YYYYMMDD, 01 YYYYMM, 05 YYYY); the text when unreadable."""
    digits = re.sub(r"\D", "", text)
    try:
        if len(digits) >= 8 and fmt in ("00", "13", "14"):
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        if len(digits) == 6:
            return date(int(digits[:4]), int(digits[4:6]), 1)
        if len(digits) == 4:
            return date(int(digits), 1, 1)
    except ValueError:
        pass
    return text


def _supply(supply, record: ImportRecord) -> None:
    if supply is None:
        return
    for detail in supply.findall("SupplyDetail"):
        record.availability = record.availability or _text(detail, "ProductAvailability")
        for price in detail.findall("Price"):
            amount = _text(price, "PriceAmount")
            if amount:
                record.prices.append(Price(amount, _text(price, "CurrencyCode") or "", _text(price, "PriceType") or ""))
