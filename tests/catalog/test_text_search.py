"""本文検索 through the application: the change log, licence gating, withdrawal, snippets, the rate limit, a second server."""
from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import select

from elibrary.catalog import text_indexing, text_search
from elibrary.catalog.files import attach_book_file
from elibrary.catalog.models import Title
from elibrary.catalog.services import withdraw_title
from elibrary.catalog.text_search import search_text
from elibrary.db import utcnow
from elibrary.lending import services as lending
from elibrary.lending.models import License
from elibrary.lending.text_search import text_searchable
from elibrary.operations import checks
from elibrary.search.booktext_tantivy import TantivyBookText
from elibrary.search.snippets import SNIPPET_CHARS
from tests.books.factories import text_epub, text_pdf
from tests.readers.factories import make_book

FOX = ("<p>" + "森の奥に小さな家がありました。" * 80 + "ごんぎつねは&lt;script&gt;alert(1)&lt;/script&gt;と書かれた札を見つけました。"
       + "川の水は冷たい。" * 80 + "</p>")


@pytest.fixture
def app_config(app_config):
    app_config["ELIBRARY_BOOKTEXT"] = "tantivy"
    app_config["ELIBRARY_TEXT_SEARCH_LIMIT"] = "3/600"
    return app_config


def add_book(rt, body: str = FOX, *, license: str | None = "open", title: str = "きつねの本", pdf: bool = False) -> int:
    data = text_pdf(body) if pdf else text_epub(body)
    with rt.db.scope() as session:
        return make_book(session, rt.storage, data, "application/pdf" if pdf else "application/epub+zip", license=license, title=title).id


def found(rt, query: str) -> list[int]:
    with rt.db.scope(write=False) as session:
        return [m.title.id for m in search_text(session, rt.booktext, rt.text_indexer.searchable, query)]


def test_an_open_title_is_found_by_its_text_with_a_short_escaped_snippet(rt, client):
    title_id = add_book(rt)
    assert found(rt, "ごんぎつね") == [title_id]
    page = client.get("/search?q=ごんぎつね&fulltext=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "本文に「ごんぎつね」を含む本" in html
    assert "<mark>ごんぎつね</mark>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    snippet = html.split('<p class="snippet"', 1)[1].split(">", 1)[1].split("</p>", 1)[0]
    visible = snippet.replace("<mark>", "").replace("</mark>", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert len(visible) <= SNIPPET_CHARS
    assert 'name="fulltext" value="1" checked' in html
    assert "本文に「ごんぎつね」" not in client.get("/search?q=ごんぎつね").get_data(as_text=True)  # only when asked


def test_a_closed_licence_keeps_the_text_out_until_its_setting_allows_it(rt):
    title_id = add_book(rt, license="one-copy")
    assert found(rt, "ごんぎつね") == []
    with rt.db.scope() as session:
        license = session.scalar(select(License).where(License.title_id == title_id))
        lending.set_text_search(session, title_id, license.id, True)
    assert found(rt, "ごんぎつね") == [title_id]
    with rt.db.scope() as session:
        lending.set_text_search(session, title_id, license.id, False)
    assert found(rt, "ごんぎつね") == []
    assert rt.booktext.sources([title_id]) == {}  # removed from the index, not only hidden


def test_an_open_licence_switched_off_and_a_title_without_licence(rt):
    open_id = add_book(rt)
    bare_id = add_book(rt, license=None, title="ライセンスなし")
    assert found(rt, "ごんぎつね") == [open_id]
    with rt.db.scope() as session:
        assert text_searchable(session, [open_id, bare_id]) == {open_id}
        license = session.scalar(select(License).where(License.title_id == open_id))
        license.text_search = False
    assert found(rt, "ごんぎつね") == []


def test_withdrawal_removes_the_text(rt, client):
    title_id = add_book(rt)
    with rt.db.scope() as session:
        withdraw_title(session, session.get(Title, title_id))
    assert found(rt, "ごんぎつね") == [] and rt.booktext.sources([title_id]) == {}
    assert "<mark>" not in client.get("/search?q=ごんぎつね&fulltext=1").get_data(as_text=True)


def test_a_pdf_text_layer_is_searchable_and_a_replaced_file_is_read_again(rt):
    title_id = add_book(rt, "PDFの本文に隠れた針。", pdf=True)
    assert found(rt, "隠れた針") == [title_id]
    with rt.db.scope() as session:
        attach_book_file(session, rt.storage, session.get(Title, title_id), io.BytesIO(text_epub("<p>新しい版の本文。</p>")), "application/epub+zip")
    assert found(rt, "新しい版") == [title_id]  # the EPUB is preferred to the PDF
    assert found(rt, "隠れた針") == []


def test_a_broken_book_is_logged_and_the_title_stays_searchable_by_metadata(rt, client, caplog):
    with caplog.at_level(logging.WARNING, logger="elibrary.catalog.text_indexing"), rt.db.scope() as session:
        title = make_book(session, rt.storage, b"%PDF-1.4 not really", "application/pdf", license="open", title="こわれた本")
        title_id = title.id
    assert any(f"title {title_id} not indexed" in r.getMessage() for r in caplog.records)
    assert rt.booktext.sources([title_id])  # recorded, so it is not read again until its file changes
    assert "こわれた本" in client.get("/search?q=こわれた本&fulltext=1").get_data(as_text=True)


def test_a_second_server_follows_the_change_log_with_its_own_index(rt, tmp_path):
    first = add_book(rt)
    other = text_indexing.TextIndexer(lambda: rt.db.session(), TantivyBookText(tmp_path / "server2" / "booktext"), rt.storage,
                                      text_searchable, synchronous=True)
    assert other.run_once() == 1  # a new server's empty index is built from storage
    assert [h.title_id for h in other.index.search("ごんぎつね")] == [first]
    second = add_book(rt, "<p>ごんぎつねの続き。</p>", title="続き")
    with rt.db.scope() as session:
        withdraw_title(session, session.get(Title, first))
    other.run_once()
    assert [h.title_id for h in other.index.search("ごんぎつね")] == [second]
    with rt.db.scope(write=False) as session:
        assert other.lag(session)["behind"] == 0


def test_the_rate_limit_stops_snippets_and_says_so(rt, client):
    add_book(rt)
    for _ in range(3):
        assert "<mark>" in client.get("/search?q=ごんぎつね&fulltext=1").get_data(as_text=True)
    html = client.get("/search?q=ごんぎつね&fulltext=1").get_data(as_text=True)
    assert "本文検索の回数が多すぎる" in html and "<mark>" not in html and 'class="snippet"' not in html
    assert "きつねの本" in html  # the title is still listed
    assert "<mark>" not in client.get("/search?q=森の奥&fulltext=1").get_data(as_text=True)


def test_health_detail_reports_the_text_index_and_its_lag(rt):
    add_book(rt)
    with rt.db.scope(write=False) as session:
        ok, report = checks.detail(rt, session, utcnow())
    assert report["booktext"]["ok"] and report["booktext"]["titles"] == 1 and report["booktext"]["lag"]["behind"] == 0


def test_reindex_text_command_rebuilds_from_storage(rt, runner):
    title_id = add_book(rt)
    rt.booktext.delete([title_id])
    result = runner.invoke(args=["search", "reindex-text"])
    assert result.exit_code == 0, result.output
    assert "indexed the text of 1 titles" in result.output and found(rt, "ごんぎつね") == [title_id]


def test_staff_set_the_licence_flag_on_the_title_page(rt, client):
    from tests.conftest import csrf_token_for, sign_in_staff

    title_id = add_book(rt, license="one-copy")
    sign_in_staff(client, rt, "librarian")
    page = client.get(f"/staff/lending/titles/{title_id}").get_data(as_text=True)
    assert "本文検索" in page and "既定" in page
    with rt.db.scope(write=False) as session:
        license_id = session.scalar(select(License.id).where(License.title_id == title_id))
    response = client.post(f"/staff/lending/titles/{title_id}", data={
        "csrf_token": csrf_token_for(client), "form": "text_search", "license_id": license_id, "text_search": "1"})
    assert response.status_code == 303
    assert found(rt, "ごんぎつね") == [title_id]
    client.post(f"/staff/lending/titles/{title_id}", data={
        "csrf_token": csrf_token_for(client), "form": "text_search", "license_id": license_id, "text_search": ""})
    assert found(rt, "ごんぎつね") == []  # back to the default: off for a one-copy licence


def test_licenses_add_command_takes_the_text_search_flag(rt, runner):
    title_id = add_book(rt, license=None)
    result = runner.invoke(args=["licenses", "add", str(title_id), "--model", "one-copy", "--copies", "1", "--text-search"])
    assert result.exit_code == 0, result.output
    assert found(rt, "ごんぎつね") == [title_id]


def test_a_damaged_text_index_says_so_and_the_catalog_search_works(rt, client, app_config):
    from pathlib import Path

    title_id = add_book(rt)
    rt.booktext.close()
    (Path(app_config["ELIBRARY_INSTANCE_PATH"]) / "booktext-index" / "meta.json").write_text("{not json", encoding="utf-8")
    page = client.get("/search?q=きつねの本&fulltext=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "本文検索は一時的に利用できません" in html
    assert f"/titles/{title_id}" in html  # the metadata results are there


def test_a_client_throwing_its_cookie_away_meets_the_address_budget(rt, app):
    add_book(rt)
    limit = rt.text_limit.limit * text_search.ADDRESS_SHARE
    for _ in range(limit):
        fresh = app.test_client()  # a new session every time
        assert "<mark>" in fresh.get("/search?q=ごんぎつね&fulltext=1").get_data(as_text=True)
    assert "<mark>" not in app.test_client().get("/search?q=ごんぎつね&fulltext=1").get_data(as_text=True)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"  # another address has its own budget
    assert "<mark>" in other.get("/search?q=ごんぎつね&fulltext=1").get_data(as_text=True)
