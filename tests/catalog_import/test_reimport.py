"""The re-import fast path: a product whose bytes were imported before is not mapped, and nothing is lost by it."""
from __future__ import annotations

import io
from contextlib import closing

import pytest
from sqlalchemy import select, update

from catalog_import import onix as onix_module
from catalog_import.apply import Importer, known_hashes
from catalog_import.models import ImportedRecord
from catalog_import.onix import parse_onix
from catalog_import.runner import run_import
from elibrary.catalog.models import SearchQueueEntry, Title
from tests.catalog_import.test_apply import JP_REF, count, title_by_isbn

ISBN = "9784090000034"


@pytest.fixture
def mapped(monkeypatch) -> list[int]:
    """Numbers of the products the ONIX parser maps (a ``KnownRecord`` is not mapped)."""
    calls: list[int] = []
    real = onix_module.map_product
    monkeypatch.setattr(onix_module, "map_product", lambda element, number: calls.append(number) or real(element, number))
    return calls


def product(ref: str, title: str, isbn: str = ISBN) -> str:
    return (f"<Product><RecordReference>{ref}</RecordReference><NotificationType>03</NotificationType>"
            f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>"
            "<DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
            f"<TitleText>{title}</TitleText></TitleElement></TitleDetail></DescriptiveDetail></Product>")


def message(tmp_path, name: str, *products: str) -> str:
    path = tmp_path / name
    path.write_text('<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0"><Header/>'
                    + "".join(products) + "</ONIXMessage>", encoding="utf-8")
    return str(path)


def hashes(rt) -> list[str | None]:
    with rt.db.scope(write=False) as session:
        return list(session.scalars(select(ImportedRecord.source_hash).order_by(ImportedRecord.id)))


def test_an_unchanged_file_is_not_mapped_again_and_nothing_is_written_or_queued(rt, mapped):
    run_import(rt, "onix", [str(JP_REF)])
    assert mapped == [1, 2, 3]
    assert all(h and len(h) == 32 for h in hashes(rt))
    logged = count(rt, SearchQueueEntry)  # the search change log
    with rt.db.scope(write=False) as session:
        stamps = sorted(session.execute(select(Title.id, Title.updated_at)).all())
    mapped.clear()
    again = run_import(rt, "onix", [str(JP_REF)])
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 1)
    assert mapped == [2]  # only the rejected product (no hash kept) is read again
    assert again.problems[0].position == "product 2" and "check digit" in again.problems[0].reason_en
    assert count(rt, SearchQueueEntry) == logged and again.index_seconds == 0  # nothing new to index
    with rt.db.scope(write=False) as session:
        assert sorted(session.execute(select(Title.id, Title.updated_at)).all()) == stamps


def changed_copy(tmp_path, old: str, new: str) -> str:
    text = JP_REF.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "changed.xml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


def test_a_changed_price_is_noticed_and_kept_though_the_title_is_unchanged(rt, tmp_path, mapped):
    run_import(rt, "onix", [str(JP_REF)])
    changed = changed_copy(tmp_path, "<PriceAmount>1540</PriceAmount>", "<PriceAmount>1650</PriceAmount>")
    mapped.clear()
    logged = count(rt, SearchQueueEntry)  # the search change log
    summary = run_import(rt, "onix", [changed])
    assert mapped == [1, 2]  # the changed product is mapped again (and the rejected one)
    assert (summary.added, summary.updated, summary.unchanged) == (0, 0, 2)  # the catalog has no price column
    with rt.db.scope(write=False) as session:
        title = title_by_isbn(session, "9784090000010")
        imported = session.scalar(select(ImportedRecord).where(ImportedRecord.title_id == title.id))
        assert imported.supply["prices"] == [{"amount": "1650", "currency": "JPY", "price_type": "02"}]
    assert count(rt, SearchQueueEntry) == logged  # no title changed: nothing for the index
    mapped.clear()
    assert run_import(rt, "onix", [changed]).unchanged == 2 and mapped == [2]


def test_a_changed_description_is_noticed_and_applied(rt, tmp_path, mapped):
    run_import(rt, "onix", [str(JP_REF)])
    changed = changed_copy(tmp_path, "<p>第3巻。</p>", "<p>第3巻、改訂版。</p>")
    mapped.clear()
    summary = run_import(rt, "onix", [changed])
    assert (summary.added, summary.updated, summary.unchanged, mapped) == (0, 1, 1, [1, 2])
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, "9784090000010").description == "星と海をめぐる夏の物語。\n\n第3巻、改訂版。"
    mapped.clear()
    assert run_import(rt, "onix", [changed]).unchanged == 2 and mapped == [2]


def test_a_known_product_after_another_record_of_its_title_is_applied_again(rt, tmp_path):
    first, second = product("a", "Aの題"), product("b", "Bの題")
    run_import(rt, "onix", [message(tmp_path, "a.xml", first)])
    # The file's last word on the title wins, as it does when every product is mapped.
    later = run_import(rt, "onix", [message(tmp_path, "ba.xml", second, first)])
    assert (later.added, later.updated, later.unchanged) == (0, 2, 0)
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, ISBN).title == "Aの題"
    earlier = run_import(rt, "onix", [message(tmp_path, "ab.xml", first, second)])
    assert (earlier.added, earlier.updated, earlier.unchanged) == (0, 1, 1)
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, ISBN).title == "Bの題"
    assert count(rt, Title) == 1


def test_the_same_holds_across_batches(db_session, rt, tmp_path):
    first, second = product("a", "Aの題"), product("b", "Bの題")

    def run(*products: str):
        path = message(tmp_path, "m.xml", *products)
        with open(path, "rb") as stream:
            return Importer(db_session, rt.storage, batch_size=1).run(parse_onix(stream, known_hashes(db_session, "onix")))

    assert run(first).added == 1
    assert (run(second, first).updated, run(first).unchanged) == (2, 1)
    assert title_by_isbn(db_session, ISBN).title == "Aの題"


def test_records_imported_before_hashes_were_kept_get_theirs_on_the_next_import(rt, mapped):
    run_import(rt, "onix", [str(JP_REF)])
    with rt.db.scope() as session:
        session.execute(update(ImportedRecord).values(source_hash=None))
    mapped.clear()
    assert run_import(rt, "onix", [str(JP_REF)]).unchanged == 2
    assert mapped == [1, 2, 3] and all(hashes(rt))
    mapped.clear()
    assert run_import(rt, "onix", [str(JP_REF)]).unchanged == 2
    assert mapped == [2]


def test_a_cover_from_a_file_beside_the_message_is_always_read_again(rt, tmp_path, mapped):
    local = product("c", "表紙つき").replace(
        "</DescriptiveDetail>", "</DescriptiveDetail><CollateralDetail><SupportingResource><ResourceContentType>01</ResourceContentType>"
        "<ResourceMode>03</ResourceMode><ResourceVersion><ResourceForm>02</ResourceForm><ResourceLink>covers/c.png</ResourceLink>"
        "</ResourceVersion></SupportingResource></CollateralDetail>")
    path = message(tmp_path, "local.xml", local)
    assert run_import(rt, "onix", [path]).added == 1
    assert hashes(rt) == [None]  # the file may appear or change while the message does not
    mapped.clear()
    assert run_import(rt, "onix", [path]).unchanged == 1 and mapped == [1]


def test_a_dry_run_knows_unchanged_products_and_writes_nothing(rt, mapped):
    run_import(rt, "onix", [str(JP_REF)])
    before = hashes(rt)
    mapped.clear()
    summary = run_import(rt, "onix", [str(JP_REF)], dry_run=True)
    assert (summary.unchanged, summary.rejected, mapped) == (2, 1, [2])
    assert hashes(rt) == before


def test_parse_onix_yields_known_products_unmapped_with_a_way_back():
    data = JP_REF.read_bytes()
    records = list(parse_onix(io.BytesIO(data)))
    first = records[0]
    assert len(first.source_hash) == 32 and len({r.source_hash for r in records}) == 3
    (known, *rest) = list(parse_onix(io.BytesIO(data), {first.source_hash: 7}))
    assert (known.title_id, known.position, known.source_hash) == (7, "product 1", first.source_hash)
    again = known.read()
    assert (again.fingerprint(), again.source_hash) == (first.fingerprint(), first.source_hash)
    assert [r.fingerprint() for r in rest] == [r.fingerprint() for r in records[1:]]
    touched = data.replace(b"<PriceAmount>1540", b"<PriceAmount>1541")
    assert next(iter(parse_onix(io.BytesIO(touched), {first.source_hash: 7}))).source_hash != first.source_hash


def test_a_large_file_is_parsed_in_a_second_process_with_the_same_outcome(rt, monkeypatch):
    from catalog_import import runner

    monkeypatch.setattr(runner, "PARSE_AHEAD_FROM", 0)
    first = run_import(rt, "onix", [str(JP_REF)])
    assert (first.added, first.rejected, first.problems[0].position) == (2, 1, "product 2")
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, "9784090000010").title_reading == "ホシトウミノモノガタリ"
    assert all(hashes(rt))
    again = run_import(rt, "onix", [str(JP_REF)])
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 1)


def test_the_parser_process_reports_its_failure_and_stops_with_its_consumer(tmp_path):
    from catalog_import.ahead import ParserProcessError, parsed_ahead

    with pytest.raises(ParserProcessError, match="FileNotFoundError"):
        list(parsed_ahead("onix", str(tmp_path / "missing.xml")))
    items = parsed_ahead("onix", str(JP_REF), {})
    assert next(items).position == "product 1"
    items.close()  # the child is killed and reaped, not left running
    known = {next(iter(parse_onix(io.BytesIO(JP_REF.read_bytes())))).source_hash: 5}
    with closing(parsed_ahead("onix", str(JP_REF), known)) as items:
        first = next(items)
    assert first.title_id == 5 and first.read().title == "星と海の物語"
