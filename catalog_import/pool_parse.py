"""Distributor files → pool items: the catalog import's parsers for the title, plus the offers.

ONIX 3: each ``<Product>`` is mapped by ``catalog_import.onix`` (the same title mapping as the catalog)
and its ``<ProductSupply>`` read for offers: one offer per ``<Price>`` in yen, its licence terms from
``<PriceConstraint>`` (List 230: 06 lend, 07 time-limited, 09 multi-user; units of List 147: 10 times,
09 days, 13 weeks, 14 months, 07 concurrent users), its tax from ``<Tax><TaxRatePercent>``, tax-included
price types (List 58: 02, 04, 07, 09 ...) turned into the price before tax. ``<RelatedMaterial>``'s
``<RelatedProduct>`` ISBNs link other editions and formats of the same work.

CSV/TSV: the catalog's columns (``catalog_import.tabular.COLUMNS``) plus the offer columns ``OFFER_COLUMNS``,
rows read as the catalog's CSV reads them (``csv_rows``: encodings, broken quotes, formula cells).
Parsers are pure: bytes in, the selection wing's plain ``PoolItem`` and ``PoolProblem`` out.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from catalog_import import onix, tabular
from catalog_import.csv_rows import BrokenRow, Row, RowReader, broken_reason, byte_lines, text_lines
from catalog_import.onix_tree import product_tree
from catalog_import.records import ImportRecord, Problem
from catalog_import.xmlsafe import UnsafeXML, clear_seen, hardened_iterparse, local_name
from elibrary.catalog.isbn import is_valid_isbn, normalize_isbn
from elibrary.errors import InvalidInput
from elibrary.selection.items import PoolItem, PoolProblem, PoolRecord
from elibrary.selection.money import excluding_tax, parse_yen
from elibrary.selection.offers import MODEL_WORDS, OfferNotExpressible, OfferTerms, checked_terms, default_offer_code

TAX_INCLUDED_PRICE_TYPES = frozenset({"02", "04", "07", "09", "12", "14", "17", "22", "24", "27", "34", "42"})
RELATED_ISBN_TYPES = ("15", "03", "02")
MONTHS_PER_UNIT = {"09": 1 / 30, "13": 7 / 30, "14": 1.0, "27": 1 / 30, "28": 7 / 30, "29": 1.0}


def pool_problem(problem: Problem) -> PoolProblem:
    """The catalog parser's problem as the pool's."""
    return PoolProblem(problem.position, problem.reason_ja, problem.reason_en, record_id=problem.record_id,
                       field=problem.field, title=problem.title, fatal=problem.fatal)


def pool_item(record: ImportRecord) -> PoolItem:
    """A pool item for the catalog parser's record, keyed by its ISBN, else its source's id (else a row hash)."""
    key = record.isbn or f"{record.source}:{record.source_record_id or tabular.fallback_record_id(record)}"[:220]
    return PoolItem(key, PoolRecord(
        source=record.source, position=record.position, source_record_id=record.source_record_id, title=record.title,
        title_reading=record.title_reading, subtitle=record.subtitle, series_title=record.series_title,
        series_reading=record.series_reading, volume=record.volume, publisher=record.publisher,
        published_on=record.published_on, isbn=record.isbn, ndc=record.ndc, language=record.language,
        audience=record.audience, description=record.description, page_count=record.page_count,
        contributors=record.contributors, subjects=record.subjects, withdrawn=record.withdrawn))


# --- ONIX --------------------------------------------------------------------------------------------

def parse_pool_onix(stream: BinaryIO, rounding: str = "floor") -> Iterator[PoolItem | PoolProblem]:
    """Pool items (and problems) of an ONIX 3 message, one ``<Product>`` at a time."""
    tags = [f"{{*}}{name}" for name in ("ONIXMessage", "ONIXmessage", "Product", "product")]
    seen_root, count = False, 0
    try:
        for event, element in hardened_iterparse(stream, tags):
            if local_name(element.tag) in ("ONIXMessage", "ONIXmessage"):
                seen_root = seen_root or event == "start"
                continue
            if event != "end" or not seen_root:
                continue
            count += 1
            mapped = onix.map_product(element, count)  # the catalog's own product mapping
            if isinstance(mapped, Problem):
                yield pool_problem(mapped)
            else:
                yield _onix_item(mapped, product_tree(element), rounding)
            clear_seen(element)
    except UnsafeXML:
        yield PoolProblem("file", "エンティティ宣言（DTD）を含むファイルは安全のため読み込みません。",
                          "The file declares XML entities (DTD); refused.", fatal=True)
        return
    except etree.XMLSyntaxError as exc:
        yield PoolProblem(f"product {count + 1}", "XMLの形式が正しくありません。ファイルが途中で切れていないか確認してください。",
                      f"The XML is malformed ({exc.msg}).", fatal=True)
        return
    if not seen_root:
        yield PoolProblem("file", "ONIXのファイルではありません（ONIXMessage 要素がありません）。", "Not an ONIX file.", fatal=True)


def _onix_item(record: ImportRecord, product, rounding: str) -> PoolItem:
    item = pool_item(record)
    for related in _all(product, "RelatedMaterial", "RelatedProduct") + product.findall("RelatedProduct"):
        for identifier in related.findall("ProductIdentifier"):
            if identifier.findtext("ProductIDType") in RELATED_ISBN_TYPES and is_valid_isbn(identifier.findtext("IDValue") or ""):
                item.related_isbns.append(normalize_isbn(identifier.findtext("IDValue") or ""))
    supply = product.find("ProductSupply")
    for detail in supply.findall("SupplyDetail") if supply is not None else ():
        distributor = (detail.findtext("Supplier/SupplierName") or "").strip()
        for number, price in enumerate(detail.findall("Price"), start=1):
            try:
                offer = _onix_offer(price, distributor, number, rounding)
            except (OfferNotExpressible, InvalidInput) as exc:
                ja, en = (exc.ja, exc.en) if isinstance(exc, OfferNotExpressible) else (exc.message_ja, exc.message_en)
                item.skipped.append(PoolProblem(record.position, f"提供条件を取り込みませんでした: {ja}", f"Offer skipped: {en}",
                                            record_id=record.source_record_id or "", title=record.title or ""))
                continue
            if offer is not None:
                item.offers.append(offer)
    item.related_isbns = list(dict.fromkeys(i for i in item.related_isbns if i != record.isbn))
    return item


def _all(node, *path: str) -> list:
    nodes = [node]
    for name in path:
        nodes = [child for n in nodes for child in n.findall(name)]
    return nodes


def _onix_offer(price, distributor: str, number: int, rounding: str) -> OfferTerms | None:
    currency = (price.findtext("CurrencyCode") or "JPY").strip().upper()
    if currency != "JPY":
        return None  # another market's price
    copies = loans = months = None
    for constraint in price.findall("PriceConstraint"):
        kind = constraint.findtext("PriceConstraintType") or ""
        if kind in ("00", ""):
            continue
        if kind not in ("06", "07", "08", "09"):
            raise OfferNotExpressible(f"価格条件（種別 {kind}）は貸出の方式で表せません。", f"Price constraint type {kind} has no lending model.")
        for limit in constraint.findall("PriceConstraintLimit"):
            unit = limit.findtext("PriceConstraintUnit") or ""
            quantity = _whole(limit.findtext("Quantity"))
            if unit in ("10", "24") and kind in ("06", "08"):
                loans = quantity
            elif unit in ("07", "15") or (unit == "01" and kind == "09"):
                copies = quantity
            elif unit in MONTHS_PER_UNIT:
                months = max(1, round(quantity * MONTHS_PER_UNIT[unit]))
            else:
                raise OfferNotExpressible(f"価格条件の単位（{unit}）は貸出の方式で表せません。", f"Constraint unit {unit} has no lending model.")
    amount = parse_yen(price.findtext("PriceAmount"))
    rate = price.findtext("Tax/TaxRatePercent")
    tax_rate = int(float(rate)) if rate and rate.strip() else 10
    value = None
    if amount is not None:
        value = amount.amount
        if (price.findtext("PriceType") or "") in TAX_INCLUDED_PRICE_TYPES:
            taxable = parse_yen(price.findtext("Tax/TaxableAmount"))
            value = taxable.amount if taxable is not None else excluding_tax(value, tax_rate, rounding)
    code = (price.findtext("PriceIdentifier/IDValue") or "").strip()
    terms = checked_terms(distributor, code or "-", None, copies, loans, months, value, tax_rate)
    if not code:
        terms = checked_terms(distributor, default_offer_code(terms.model, terms.copies, terms.loans, terms.term_months),
                              terms.model, terms.copies, terms.loans, terms.term_months, terms.price, terms.tax_rate)
    return terms


def _whole(text: str | None) -> int:
    folded = unicodedata.normalize("NFKC", text or "").strip()
    try:
        value = float(folded)
    except ValueError:
        raise OfferNotExpressible(f"数量「{(text or '')[:20]}」を読めません。", f"The quantity {text!r} is not a number.") from None
    if value < 1 or not value.is_integer():
        raise OfferNotExpressible(f"数量「{folded}」は1以上の整数にしてください。", f"The quantity {folded} must be a whole number ≥ 1.")
    return int(value)


# --- CSV ---------------------------------------------------------------------------------------------

# field → accepted headers (compared as the catalog's CSV compares them: NFKC, no spaces or brackets).
OFFER_COLUMNS: dict[str, tuple[str, ...]] = {
    "distributor": ("提供元", "取次", "販売元", "distributor"),
    "offer_code": ("商品コード", "提供ID", "ライセンスID", "offer_code", "offer_id"),
    "model": ("ライセンス種別", "ライセンス形態", "提供形態", "license_model", "model"),
    "copies": ("同時貸出数", "同時アクセス数", "copies"),
    "loans": ("貸出回数", "貸出可能回数", "loans"),
    "term_months": ("利用期間月", "期間月", "契約期間月", "term_months"),
    "price": ("価格税抜", "本体価格", "販売価格税抜", "price", "price_excl_tax"),
    "price_incl": ("価格税込", "税込価格", "販売価格税込", "price_incl_tax"),
    "tax_rate": ("税率", "tax_rate"),
    "related_isbns": ("関連ISBN", "他版ISBN", "related_isbn"),
}
OFFER_INDEX = {tabular.header_key(name): name_field for name_field, names in OFFER_COLUMNS.items() for name in names}


def parse_pool_csv(stream: BinaryIO, name: str = "", rounding: str = "floor") -> Iterator[PoolItem | PoolProblem]:
    """Pool items of a distributor's CSV/TSV (UTF-8 or cp932, Japanese headers; one row per offer)."""
    sample = stream.read(64 * 1024)
    stream.seek(0)
    encoding = tabular.detect_encoding(sample)
    if encoding == "utf-16":
        text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
        try:
            yield from _csv_rows(text_lines(text), sample, name, encoding, rounding)
        finally:
            text.detach()  # the caller owns (and closes) the byte stream
    else:
        yield from _csv_rows(byte_lines(stream, encoding), sample, name, encoding, rounding)


def _csv_rows(lines, sample: bytes, name: str, encoding: str, rounding: str) -> Iterator[PoolItem | PoolProblem]:
    first_line = sample.split(b"\n", 1)[0]
    delimiter = "\t" if name.lower().endswith(".tsv") or first_line.count(b"\t") > first_line.count(b",") else ","
    csv.field_size_limit(tabular.MAX_FIELD)
    reader = RowReader(lines, delimiter)
    header = reader.read()
    if isinstance(header, BrokenRow):
        ja, en = broken_reason(header)
        yield PoolProblem("line 1", f"見出し行を読み込めません。{ja}", f"The header row cannot be read. {en}", fatal=True)
        return
    if header is None or not any(cell.strip() for cell in header.cells):
        yield PoolProblem("line 1", "ファイルが空です。", "The file is empty.", fatal=True)
        return
    catalog_fields = [tabular.HEADER_INDEX.get(tabular.header_key(h)) for h in header.cells]
    offer_fields = [OFFER_INDEX.get(tabular.header_key(h)) for h in header.cells]
    if "title" not in catalog_fields:
        yield PoolProblem("line 1", "見出し行に「タイトル」（または 書名）の列がありません。", "The header row has no title column.", fatal=True)
        return
    reader.fields = catalog_fields
    while (row := reader.read()) is not None:
        if isinstance(row, BrokenRow):
            yield PoolProblem(f"line {row.start}", *broken_reason(row))
            continue
        if any(cell.strip() for cell in row.cells):
            yield _csv_item(row, catalog_fields, offer_fields, encoding, rounding)


def _csv_item(row: Row, catalog_fields, offer_fields, encoding: str, rounding: str) -> PoolItem | PoolProblem:
    position = f"line {row.start}"
    parsed = tabular.map_row(row, catalog_fields, encoding)  # the catalog's mapping, encoding and formula checks included
    if isinstance(parsed, Problem):
        return pool_problem(parsed)
    if parsed.isbn and is_valid_isbn(parsed.isbn):
        parsed.isbn = normalize_isbn(parsed.isbn)
    values = {f: unicodedata.normalize("NFKC", cell).strip() for f, cell in zip(offer_fields, row.cells, strict=False) if f and cell.strip()}
    item = pool_item(parsed)
    item.related_isbns = [normalize_isbn(v) for v in values.get("related_isbns", "").replace("；", ";").split(";") if is_valid_isbn(v.strip())]
    try:
        item.offers.append(_csv_offer(values, rounding))
    except (OfferNotExpressible, InvalidInput) as exc:
        ja, en = (exc.ja, exc.en) if isinstance(exc, OfferNotExpressible) else (exc.message_ja, exc.message_en)
        item.skipped.append(PoolProblem(position, f"提供条件を取り込みませんでした: {ja}", f"Offer skipped: {en}", title=parsed.title or ""))
    return item


def _csv_offer(values: dict[str, str], rounding: str) -> OfferTerms:
    word = values.get("model", "")
    model = MODEL_WORDS.get(word.lower().replace(" ", ""), word.lower() or None) if word else None
    counts = {f: _whole(values[f]) if values.get(f) else None for f in ("copies", "loans", "term_months")}
    rate_text = values.get("tax_rate", "10").rstrip("%％")
    try:
        tax_rate = int(float(rate_text))
    except ValueError:
        raise OfferNotExpressible(f"税率「{rate_text}」を読めません。", f"The tax rate {rate_text!r} is not a number.") from None
    price = None
    excluded, included = parse_yen(values.get("price")), parse_yen(values.get("price_incl"))
    if excluded is not None:
        price = excluding_tax(excluded.amount, tax_rate, rounding) if excluded.tax_included else excluded.amount
    elif included is not None:
        price = included.amount if included.tax_included is False else excluding_tax(included.amount, tax_rate, rounding)
    terms = checked_terms(values.get("distributor", ""), "-", model, counts["copies"], counts["loans"], counts["term_months"], price, tax_rate)
    code = values.get("offer_code") or default_offer_code(terms.model, terms.copies, terms.loans, terms.term_months)
    return checked_terms(terms.distributor, code[:100], terms.model, terms.copies, terms.loans, terms.term_months, price, tax_rate)
