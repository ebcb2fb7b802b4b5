"""The apply step: idempotent re-imports, matching, per-record all-or-nothing, search index, files, dry runs."""
from __future__ import annotations

import io
import shutil
import threading

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError

from catalog_import import apply as apply_module
from catalog_import import attach
from catalog_import.apply import Importer
from catalog_import.models import ImportedRecord
from catalog_import.runner import run_import
from catalog_import.tabular import parse_tabular
from elibrary.catalog import covers, indexing
from elibrary.catalog.models import BookFile, SearchQueueEntry, Subject, Title, TitleContributor, TitleStatus
from elibrary.search.base import SearchQuery
from tests.catalog.factories import make_title
from tests.catalog_import.test_epub import OPF, handmade, sample_epub, valid_entries
from tests.conftest import FILES
from tests.slow_work import SlowWork

JP_REF = FILES / "catalog_import" / "jp_onix30_ref.xml"


def count(rt, model) -> int:
    with rt.db.scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def title_by_isbn(session, isbn):
    return session.scalar(select(Title).where(Title.isbn == isbn))


def csv_file(tmp_path, text: str, name="books.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_onix_import_reimport_and_update(rt, tmp_path):
    first = run_import(rt, "onix", [str(JP_REF)])
    assert (first.added, first.updated, first.unchanged, first.rejected) == (2, 0, 0, 1)
    (bad,) = first.problems
    assert bad.position == "product 2" and bad.record_id == "jp.midori.0002" and "check digit" in bad.reason_en
    with rt.db.scope(write=False) as session:
        title = title_by_isbn(session, "9784090000010")
        assert (title.title, title.title_reading, title.series_title, title.volume) == ("星と海の物語", "ホシトウミノモノガタリ", "森のなかまシリーズ", "3")
        assert [(tc.contributor.name, tc.contributor.name_reading, tc.role) for tc in title.contributors] == [
            ("佐藤 太郎", "サトウ タロウ", "aut"), ("鈴木 花子", "スズキ ハナコ", "ill"), ("Jane Smith", "", "trl")]
        assert {(s.scheme, s.term) for s in title.subjects} == {("ccode", "C8093"), ("keyword", "冒険"), ("keyword", "海"), ("keyword", "夏休み")}
        assert (title.source, title.source_record_id, title.audience.value, title.ndc) == ("onix", "jp.midori.0001", "children", "913.6")
        assert title.description == "星と海をめぐる夏の物語。\n\n第3巻。"
        imported = session.scalar(select(ImportedRecord).where(ImportedRecord.title_id == title.id))
        assert imported.cover_url == "https://covers.example.jp/9784090000010.jpg"
        assert imported.supply == {"prices": [{"amount": "1540", "currency": "JPY", "price_type": "02"}], "availability": "20"}
    again = run_import(rt, "onix", [str(JP_REF)])
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 1)
    changed = tmp_path / "changed.xml"
    changed.write_text(JP_REF.read_text(encoding="utf-8").replace("夏休みの冒険", "秋の冒険"), encoding="utf-8")
    third = run_import(rt, "onix", [str(changed)])
    assert (third.added, third.updated, third.unchanged) == (0, 1, 1)
    assert count(rt, Title) == 2
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, "9784090000010").subtitle == "秋の冒険"


def test_the_search_index_follows_the_import_once_at_the_end(rt):
    run_import(rt, "onix", [str(JP_REF)])
    hits = rt.search.search(SearchQuery(text="星と海"))
    assert len(hits.ids) == 1
    assert count(rt, SearchQueueEntry) > 0  # the change log every server's index follows
    with rt.db.scope(write=False) as session:
        assert indexing.lag(session, rt.search)["behind"] == 0


def test_a_large_import_rebuilds_the_index_instead(rt, monkeypatch):
    from catalog_import import runner

    monkeypatch.setattr(runner, "REBUILD_AT", 1)
    rebuilt = []
    monkeypatch.setattr(runner.indexing, "rebuild", lambda session, search, enrichers: rebuilt.append(True) or 0)
    run_import(rt, "onix", [str(JP_REF)])
    assert rebuilt == [True]


def test_sign_ins_and_loans_go_on_while_a_large_import_rebuilds_the_index(rt, monkeypatch):
    from catalog_import import runner

    run_import(rt, "onix", [str(JP_REF)])
    slow = SlowWork()
    monkeypatch.setattr(rt.search, "rebuild", slow.wrap(rt.search.rebuild))
    seconds, still_rebuilding = slow.write_during(lambda: runner.update_index(rt, runner.REBUILD_AT), rt,
                                                  update(Title).where(Title.id == -1).values(publisher="別の書房"))
    assert still_rebuilding and seconds < 5, seconds  # the rebuild only reads: on SQLite it does not hold the write lock
    assert len(rt.search.search(SearchQuery(text="星と海")).ids) == 1


def test_dry_run_writes_nothing(rt, tmp_path):
    summary = run_import(rt, "onix", [str(JP_REF)], dry_run=True)
    assert (summary.added, summary.rejected, summary.dry_run) == (2, 1, True)
    assert count(rt, Title) == 0 and count(rt, ImportedRecord) == 0
    epub = sample_epub(tmp_path, "childrens-literature")
    assert run_import(rt, "epub", [str(epub)], dry_run=True).added == 1
    assert list(rt.storage.keys()) == []


def test_matching_by_isbn_across_sources_then_by_record_id(rt, tmp_path):
    run_import(rt, "onix", [str(JP_REF)])
    wrong = run_import(rt, "csv", [csv_file(tmp_path, "ISBN,タイトル,出版社\n4-09-000001-X,星と海の物語,あおぞら出版\n")])
    assert (wrong.added, wrong.rejected, wrong.problems[0].field) == (0, 1, "isbn")  # check digit: rejected, not a new title
    fixed = run_import(rt, "csv", [csv_file(tmp_path, "ISBN,タイトル,出版社\n4-09-000001-7,星と海の物語,あおぞら出版\n")])
    assert (fixed.added, fixed.updated) == (0, 1)  # the ISBN-10 form finds the ISBN-13 title
    with rt.db.scope(write=False) as session:
        title = title_by_isbn(session, "9784090000010")
        assert title.publisher == "あおぞら出版" and title.source == "onix"  # the first source keeps the record id
        assert title.contributors  # the CSV row named no authors: the ONIX credits stay
    rows = "ID,タイトル,著者\nK-1,ID付きの本,山田\n,IDもISBNもない本,田中\n"
    assert run_import(rt, "csv", [csv_file(tmp_path, rows)]).added == 2
    again = run_import(rt, "csv", [csv_file(tmp_path, rows.replace("ID付きの本", "ID付きの本（改訂）"))])
    assert (again.added, again.updated, again.unchanged) == (0, 1, 1)
    assert count(rt, Title) == 4


def test_validation_rejects_with_the_admin_rules(rt, tmp_path):
    rows = "タイトル,タイトルヨミ,NDC,出版日\n正しい本,タダシイ ホン,913.6,2024-04-01\n漢字のヨミ,漢字,913,2024\n変な分類,ヘン,abc,2024\n変な日付,ヘン,913,2024-13-40\n"
    summary = run_import(rt, "csv", [csv_file(tmp_path, rows)])
    assert (summary.added, summary.rejected) == (1, 3)
    fields = [p.field for p in summary.problems]
    assert fields == ["title_reading", "ndc", "published_on"]
    assert all(p.position.startswith("line ") and p.reason_ja and p.reason_en for p in summary.problems)


def test_a_record_failing_while_written_leaves_nothing_and_the_rest_land(db_session, rt, monkeypatch):
    real_set_subjects = Importer._set_subjects

    def failing(self, title, subjects, created):
        if title.title == "壊れる本":
            raise IntegrityError("INSERT", {}, Exception("simulated failure"))
        return real_set_subjects(self, title, subjects, created)

    monkeypatch.setattr(Importer, "_set_subjects", failing)
    existing_id = make_title(db_session, title="壊れる本", isbn="9784090000058").id
    rows = ("ISBN,タイトル,件名,著者\n978-4-09-000005-8,壊れる本,新しい件名,新しい著者\n"
            "978-4-09-000003-4,無事な本,件名,佐藤\n978-4-09-000004-1,もう一冊,件名,鈴木\n").encode()
    importer = Importer(db_session, rt.storage)
    summary = importer.run(parse_tabular(io.BytesIO(rows)))
    assert (summary.added, summary.updated, summary.rejected) == (2, 0, 1)
    assert "simulated failure" in summary.problems[0].reason_en and summary.problems[0].position == "line 2"
    db_session.expire_all()
    broken = db_session.get(Title, existing_id)
    assert [s.term for s in broken.subjects] == [] and [tc.contributor.name for tc in broken.contributors] == ["山田太郎"]
    for isbn in ("9784090000034", "9784090000041"):
        title = title_by_isbn(db_session, isbn)
        assert title.contributors and title.subjects


def test_a_batch_failure_falls_back_to_one_savepoint_per_record(db_session, rt, monkeypatch):
    def broken_fast_path(self, batch):
        raise IntegrityError("INSERT", {}, Exception("batch refused"))

    monkeypatch.setattr(Importer, "_insert_new", broken_fast_path)
    rows = "タイトル,著者\n一冊目,山田\n二冊目,田中\n".encode()
    summary = Importer(db_session, rt.storage).run(parse_tabular(io.BytesIO(rows)))
    assert (summary.added, summary.rejected) == (2, 0)
    assert db_session.scalar(select(func.count()).select_from(TitleContributor)) == 2


def test_onix_delete_notification_withdraws_the_title(rt, tmp_path):
    run_import(rt, "onix", [str(JP_REF)])
    delete = tmp_path / "delete.xml"
    delete.write_text(
        '<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0"><Header/><Product>'
        "<RecordReference>jp.midori.0003</RecordReference><NotificationType>05</NotificationType>"
        "<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9784090000027</IDValue></ProductIdentifier></Product></ONIXMessage>",
        encoding="utf-8")
    summary = run_import(rt, "onix", [str(delete)])
    assert summary.updated == 1
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, "9784090000027").status == TitleStatus.withdrawn
    assert rt.search.search(SearchQuery(text="うみのえほん")).ids == []


def test_books_with_files_go_in_small_batches_each_committed(rt, tmp_path, monkeypatch):
    """A batch's transaction copies its books into storage (on SQLite every sign-in waits for it), so records
    with files are committed FILE_BATCH at a time; records without files still go BATCH_SIZE at a time."""
    monkeypatch.setattr(attach, "FILE_BATCH", 4)
    folder = tmp_path / "books"
    folder.mkdir()
    for n in range(10):
        opf = OPF.replace("urn:isbn:9784090000041", f"urn:uuid:small-batch-{n}").replace("小さな本", f"小さな本 {n}")
        handmade(folder, {**valid_entries(), "OEBPS/content.opf": opf}, name=f"book{n:02d}.epub")
    monkeypatch.setattr(rt.indexer, "kick", lambda: None)  # the index pass's own commits (its log pruning) are not the import's
    commits, importing = [], threading.current_thread()

    def committed(connection):
        if threading.current_thread() is importing:  # not an indexer thread's
            commits.append(1)

    event.listen(rt.db.engine, "commit", committed)
    try:
        summary = run_import(rt, "epub", [str(folder)], index="kick")
    finally:
        event.remove(rt.db.engine, "commit", committed)
    assert (summary.added, summary.rejected) == (10, 0)
    assert len(commits) == 3  # 4 + 4 + 2 books, each batch committed
    assert count(rt, BookFile) == 10


def test_sign_ins_go_on_while_an_imports_covers_are_checked(rt, tmp_path, monkeypatch):
    """Decoding a cover to check it takes time (tens of ms for a large one, for each of hundreds of books):
    it happens before the batch's writing transaction begins."""
    slow = SlowWork()
    monkeypatch.setattr(covers, "inspect_cover", slow.wrap(covers.inspect_cover))
    path, summaries = sample_epub(tmp_path, "childrens-literature"), []
    seconds, still_checking = slow.write_during(lambda: summaries.append(run_import(rt, "epub", [str(path)])), rt,
                                                update(Title).where(Title.id == -1).values(publisher="別の書房"))
    assert still_checking and seconds < 5, seconds
    assert summaries[0].added == 1
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(Title)).cover_key.startswith("covers/")


def test_epub_import_stores_the_file_and_cover_through_storage(rt, tmp_path):
    path = sample_epub(tmp_path, "childrens-literature")
    summary = run_import(rt, "epub", [str(path)])
    assert summary.added == 1
    with rt.db.scope(write=False) as session:
        title = session.scalar(select(Title))
        (book,) = session.scalars(select(BookFile)).all()
        assert book.storage_key.startswith(f"books/{title.id}/") and book.storage_key.endswith(".epub")
        assert (book.layout, book.media_type) == ("reflowable", "application/epub+zip")
        assert title.cover_key and title.cover_key.startswith(f"covers/{title.id}/")
    keys = sorted(rt.storage.keys())
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(path, moved / "same.epub")
    assert run_import(rt, "epub", [str(moved)]).unchanged == 1
    assert sorted(rt.storage.keys()) == keys


def test_hostile_epubs_store_nothing_and_leave_no_title(rt, tmp_path):
    from tests.catalog_import.test_epub import two_gigabyte_claim

    bad = [two_gigabyte_claim(tmp_path), handmade(tmp_path, valid_entries(**{"../../escape.txt": "x"}), "dots.epub")]
    summary = run_import(rt, "epub", [str(p) for p in bad])
    assert (summary.added, summary.rejected) == (0, 2)
    assert count(rt, Title) == 0 and list(rt.storage.keys()) == []
    assert not (tmp_path.parent / "escape.txt").exists()


def test_marc_import(rt):
    summary = run_import(rt, "marc", [str(FILES / "catalog_import" / "jp_marcxml.xml")])
    assert (summary.added, summary.rejected) == (1, 1)
    with rt.db.scope(write=False) as session:
        title = title_by_isbn(session, "9784090000034")
        assert (title.title, title.title_reading, title.source_record_id) == ("吾輩は猫である", "ワガハイ ワ ネコ デ アル", "JTNDL:JP000001")
        assert session.scalar(select(Subject.scheme).where(Subject.title_id == title.id)) == "ndlsh"


def test_duplicates_within_one_file_update_instead_of_duplicating(rt, tmp_path):
    rows = "ISBN,タイトル\n978-4-09-000003-4,初版\n978-4-09-000003-4,第二版\n"
    summary = run_import(rt, "csv", [csv_file(tmp_path, rows)])
    assert (summary.added, summary.updated) == (1, 1)
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, "9784090000034").title == "第二版"


@pytest.fixture
def tiny_batches(monkeypatch):
    monkeypatch.setattr(apply_module, "BATCH_SIZE", 2)


def test_batches_commit_as_they_go(rt, tmp_path, tiny_batches):
    rows = "タイトル\n" + "".join(f"本{i}\n" for i in range(5))
    commits = []
    from catalog_import import runner

    real = runner.Importer

    class Counting(real):
        def __init__(self, *args, **kwargs):
            kwargs["batch_size"] = 2
            super().__init__(*args, **kwargs)
            inner = self.on_batch
            self.on_batch = lambda session: (commits.append(1), inner(session))

    runner.Importer = Counting
    try:
        assert run_import(rt, "csv", [csv_file(tmp_path, rows)]).added == 5
    finally:
        runner.Importer = real
    assert len(commits) == 3


def test_script_in_a_description_is_stored_as_text_and_shown_escaped(rt, client, tmp_path):
    onix = tmp_path / "script.xml"
    onix.write_text(
        '<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0"><Header/><Product>'
        "<RecordReference>s1</RecordReference><NotificationType>03</NotificationType>"
        "<DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
        "<TitleText>危ない紹介文</TitleText></TitleElement></TitleDetail></DescriptiveDetail>"
        '<CollateralDetail><TextContent><TextType>03</TextType><Text textformat="02">'
        "&lt;p&gt;本文&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;lt;script&amp;gt;alert(2)&amp;lt;/script&amp;gt;</Text>"
        "</TextContent></CollateralDetail></Product></ONIXMessage>", encoding="utf-8")
    assert run_import(rt, "onix", [str(onix)]).added == 1
    with rt.db.scope(write=False) as session:
        title = session.scalar(select(Title))
        # Markup gone, and markup escaped once more is reduced too: decoding entities never leaves a tag behind.
        assert title.description == "本文"
    html = client.get(f"/titles/{title.id}").get_data(as_text=True)
    assert "本文" in html and "alert(" not in html


def test_onix_cover_file_beside_the_message_and_links_that_escape_are_ignored(rt, tmp_path):
    from tests.catalog.test_views_admin import png

    (tmp_path / "covers").mkdir()
    (tmp_path / "covers" / "a.png").write_bytes(png())
    (tmp_path.parent / "outside.png").write_bytes(png(colour="blue"))

    def product(ref: str, isbn: str, link: str) -> str:
        return (f"<Product><RecordReference>{ref}</RecordReference><NotificationType>03</NotificationType>"
                f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>"
                "<DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
                f"<TitleText>{ref}</TitleText></TitleElement></TitleDetail></DescriptiveDetail>"
                "<CollateralDetail><SupportingResource><ResourceContentType>01</ResourceContentType><ResourceMode>03</ResourceMode>"
                f"<ResourceVersion><ResourceForm>02</ResourceForm><ResourceLink>{link}</ResourceLink></ResourceVersion>"
                "</SupportingResource></CollateralDetail></Product>")

    onix = tmp_path / "covers.xml"
    onix.write_text('<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0"><Header/>'
                    + product("beside", "9784090000034", "covers/a.png")
                    + product("escaping", "9784090000041", "../outside.png") + "</ONIXMessage>", encoding="utf-8")
    assert run_import(rt, "onix", [str(onix)]).added == 2
    with rt.db.scope(write=False) as session:
        assert title_by_isbn(session, "9784090000034").cover_key.startswith("covers/")
        assert title_by_isbn(session, "9784090000041").cover_key is None
    assert all(key.startswith(("books/", "covers/")) for key in rt.storage.keys())


def test_epubcheck_findings_are_kept_on_the_book_file(rt, tmp_path, monkeypatch):
    from catalog_import import epub as epub_module

    findings = [{"id": "RSC-005", "level": "ERROR", "location": "c.xhtml:3:1", "message": "Error while parsing file"}]
    monkeypatch.setattr(epub_module, "run_epubcheck", lambda path: findings)
    path = handmade(tmp_path, valid_entries())
    assert run_import(rt, "epub", [str(path)], epubcheck=True).added == 1
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(BookFile)).check_report == findings
