"""The candidate pool: ONIX and distributor CSV (UTF-8, cp932) into a pool kept apart from the catalog."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog_import.pool import pool_items, run_pool_import
from elibrary.catalog.models import Title
from elibrary.catalog.services import ContributorCredit
from elibrary.errors import InvalidInput
from elibrary.selection.items import PoolProblem
from elibrary.selection.models import PoolOffer, PoolTitle
from elibrary.selection.money import parse_yen
from elibrary.selection.pool import import_pool
from tests.catalog.factories import make_title

FILES = Path(__file__).resolve().parents[1] / "files" / "selection"
POOL_ONIX = FILES / "pool.xml"

CSV_HEADER = "ISBN,書名,書名ヨミ,著者,著者ヨミ,出版社,NDC,対象,提供元,商品コード,ライセンス種別,同時貸出数,貸出回数,利用期間（月）,価格（税抜）,価格（税込）,税率\n"


def _write_csv(tmp_path: Path, rows: list[str], encoding: str = "utf-8", name: str = "offers.csv") -> str:
    path = tmp_path / name
    path.write_bytes((CSV_HEADER + "".join(r + "\n" for r in rows)).encode(encoding))
    return str(path)


def test_onix_offers_with_licence_terms_tax_included_prices_and_skipped_terms(db_session):
    summary = import_pool(db_session, pool_items("onix", [str(POOL_ONIX)], "floor"))
    assert (summary.titles_added, summary.offers_added, summary.skipped_offers) == (2, 3, 1)
    cat = db_session.scalar(select(PoolTitle).where(PoolTitle.isbn == "9784990000011"))
    assert cat.title == "吾輩は猫である" and cat.ndc_class == "9" and cat.related_isbns == ["9784990000028"]
    offers = {o.model: o for o in cat.offers}
    assert (offers["metered-time"].loans, offers["metered-time"].term_months, offers["metered-time"].price) == (26, 24, 3300)
    assert offers["metered-time"].distributor == "ほんのもり"
    assert (offers["concurrent"].copies, offers["concurrent"].price) == (3, 12000)  # 13,200 tax included → 12,000
    assert "種別 10" in summary.problems[0].reason_ja and summary.problems[0].title == "吾輩は猫である"
    assert db_session.scalar(select(func.count()).select_from(Title)) == 0, "the pool never touches the catalog"


def test_reimport_updates_offers_and_flags_those_the_distributor_dropped(db_session, tmp_path, monkeypatch):
    monkeypatch.setattr("elibrary.selection.pool.BATCH", 1)  # a title's two rows fall into two batches
    first = _write_csv(tmp_path, ["9784990000042,森のうた,モリ ノ ウタ,山川一,ヤマカワ ハジメ,森社,911,一般,ほんのもり,A-1,回数制限,1,12,,2000,,10",
                                  "9784990000042,森のうた,モリ ノ ウタ,山川一,ヤマカワ ハジメ,森社,911,一般,ほんのもり,A-2,ワンコピー,1,,,1500,,10"])
    assert import_pool(db_session, pool_items("csv", [first], "floor")).offers_withdrawn == 0
    second = _write_csv(tmp_path, ["9784990000042,森のうた,モリ ノ ウタ,山川一,ヤマカワ ハジメ,森社,911,一般,ほんのもり,A-1,回数制限,1,12,,2200,,10"],
                        name="again.csv")
    summary = import_pool(db_session, pool_items("csv", [second], "floor"))
    assert (summary.titles_added, summary.offers_updated, summary.offers_withdrawn) == (0, 1, 1)
    offers = {o.offer_code: o for o in db_session.scalars(select(PoolOffer))}
    assert offers["A-1"].price == 2200 and not offers["A-1"].withdrawn
    assert offers["A-2"].withdrawn


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_distributor_csv_in_both_encodings_with_yen_signs_full_width_digits_and_missing_price(db_session, tmp_path, encoding):
    path = _write_csv(tmp_path, [
        "9784990000059,はじめての宇宙,ハジメテ ノ ウチュウ,星野光,ホシノ ヒカル,宙書房,440,児童,ほんのもり,B-1,期間制限,2,,１２,,\"￥1,320（税込）\",10",
        "9784990000066,値段のない本,ネダン ノ ナイ ホン,無名,ムメイ,某社,000,一般,ほんのもり,B-2,ワンコピー,1,,,,,10",
        "9784990000073,=HYPERLINK(\"http://x\"),ア,誰か,ダレカ,某社,000,一般,ほんのもり,B-3,ワンコピー,1,,,100,,10",
        "9784990000080,図書館の本,トショカン ノ ホン,司書,シショ,某社,010,一般,ほんのもり,B-4,サブスク,1,,,100,,10",
    ], encoding=encoding)
    summary = import_pool(db_session, pool_items("csv", [path], "floor"))
    space = db_session.scalar(select(PoolTitle).where(PoolTitle.isbn == "9784990000059"))
    offer = space.offers[0]
    assert (offer.model, offer.copies, offer.term_months, offer.price) == ("metered-time", 2, 12, 1200)
    assert space.audience == "children"
    unpriced = db_session.scalar(select(PoolTitle).where(PoolTitle.isbn == "9784990000066"))
    assert unpriced.offers[0].price is None  # kept: a librarian can ask for the price
    assert summary.rejected == 1 and any("数式" in p.reason_ja for p in summary.problems)
    assert any("サブスク" in p.reason_ja for p in summary.problems), "an offer no lending model expresses is skipped and said so"
    assert db_session.scalar(select(func.count()).select_from(PoolTitle).where(PoolTitle.isbn == "9784990000080")) == 1


def test_same_work_is_recognised_with_its_reason(db_session):
    make_title(db_session, title="はらぺこのくま", title_reading="ハラペコ ノ クマ", isbn=None,
               contributors=(ContributorCredit("森花子", "モリ ハナコ"),))
    make_title(db_session, title="吾輩は猫である（紙版）", isbn="9784990000028")
    import_pool(db_session, pool_items("onix", [str(POOL_ONIX)], "floor"))
    reasons = dict(db_session.execute(select(PoolTitle.isbn, PoolTitle.owned_reason)).all())
    assert reasons == {"9784990000011": "related", "9784990000035": "work"}


def test_bad_prices_are_refused_clearly():
    assert parse_yen("¥1,320（税込）").amount == 1320 and parse_yen("¥1,320（税込）").tax_included is True
    assert parse_yen("１，２００円").amount == 1200
    with pytest.raises(InvalidInput):
        parse_yen("千円")
    with pytest.raises(InvalidInput):
        parse_yen("1320.5")


def test_a_file_that_is_not_onix_is_one_fatal_problem(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("<html/>")
    items = list(pool_items("onix", [str(path)], "floor"))
    assert len(items) == 1 and isinstance(items[0], PoolProblem) and items[0].fatal


def test_the_command_imports_a_pool(runner, rt):
    result = runner.invoke(args=["import", "onix", "--pool", str(POOL_ONIX)])
    assert result.exit_code == 0, result.output
    assert "2 titles added" in result.output and "1 offers skipped" in result.output
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(PoolOffer)) == 3
        assert session.scalar(select(func.count()).select_from(Title)) == 0
    assert run_pool_import(rt, "onix", [str(POOL_ONIX)]).titles_updated == 2


def test_the_price_of_an_older_licence_is_entered_by_command(runner, rt):
    from elibrary.lending import services as lending
    from elibrary.selection.models import LicenseCost
    from tests.lending.factories import make_title as make_lending_title

    with rt.db.scope() as session:
        licence_id = lending.add_license(session, make_lending_title(session).id, "one-copy").id
    result = runner.invoke(args=["selection", "license-cost", str(licence_id), "1500"])
    assert result.exit_code == 0, result.output
    with rt.db.scope() as session:
        cost = session.get(LicenseCost, licence_id)
        assert (cost.price, cost.tax) == (1500, 150)
    assert runner.invoke(args=["selection", "license-cost", "999999", "1"]).exit_code == 1
    assert "0 received lines" in runner.invoke(args=["selection", "files-arrived"]).output
