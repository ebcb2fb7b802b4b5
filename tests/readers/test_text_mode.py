"""The text-only mode (テキスト版): search, a title, borrowing, マイ本棚 and the book's text as plain HTML,
with the reader's rules: only an open title or the patron's current loan, and nothing of the book's own
markup (scripts, styles, links, pictures) reaches the page."""
from __future__ import annotations

import re

from tests.conftest import csrf_token_for
from tests.readers import hostile_books
from tests.readers.factories import PDF, make_book, make_pdf, make_sample, manga_epub
from tests.readers.hostile_books import hostile_epub
from tests.readers.test_views import licensed, return_loan, sign_in


def test_every_site_page_links_to_the_text_mode_at_its_top(client):
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'<a [^>]*href="([^"]+)"', page)
    assert links[:2] == ["#main", "/text/"]  # right after 「本文へ移動」, before the header
    text_home = client.get("/text/")
    assert text_home.status_code == 200
    assert "<script" not in text_home.get_data(as_text=True)
    assert "script-src" not in text_home.headers["Content-Security-Policy"]  # default-src 'none': no scripts


def test_a_patron_borrows_and_reads_the_text_and_loses_it_on_return(client, rt):
    title_id, patron_id, card = licensed(rt)
    assert client.get(f"/text/read/{title_id}").status_code == 403  # signed out, not an open title
    token = sign_in(client, card)
    title_page = client.get(f"/text/titles/{title_id}").get_data(as_text=True)
    assert f'action="/titles/{title_id}/borrow"' in title_page and "借りる" in title_page
    assert client.get(f"/text/read/{title_id}").status_code == 403  # not borrowed yet
    borrowed = client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token, "next": f"/text/titles/{title_id}"})
    assert borrowed.status_code == 303 and borrowed.headers["Location"].endswith(f"/text/titles/{title_id}")
    assert "テキスト版で読む" in client.get(f"/text/titles/{title_id}").get_data(as_text=True)
    shelf = client.get("/text/shelf").get_data(as_text=True)
    assert f'href="/text/read/{title_id}"' in shelf

    book = client.get(f"/text/read/{title_id}")
    assert book.status_code == 200 and book.headers["Cache-Control"] == "private, no-store"
    html = book.get_data(as_text=True)
    headings = re.findall(r'<h2 id="c\d+">([^<]*)</h2>', html)
    assert "一" in headings and len(headings) >= 13  # chapters as headings
    assert "山路を登りながら、こう考えた。" in re.sub(r"<rt>[^<]*</rt>|<r[bp]>|</r[bp]>|</?ruby>", "", html)
    assert "<ruby>山路<rt>やまみち</rt></ruby>" in html
    body = html.split('<main id="main">')[1]
    assert not re.search(r"<(script|style|img|iframe|link|object)\b|\sstyle=|\son\w+=|\sclass=", body)

    return_loan(rt, patron_id, _loan_id(rt, patron_id))
    assert client.get(f"/text/read/{title_id}").status_code == 403


def _loan_id(rt, patron_id: int) -> int:
    from sqlalchemy import select

    from elibrary.lending.models import Loan

    with rt.db.scope() as session:
        return session.scalars(select(Loan.id).where(Loan.patron_id == patron_id)).one()


def test_a_hostile_book_becomes_plain_text(client, rt):
    with rt.db.scope() as session:
        neighbour = make_sample(session, rt.storage, license="open").id
        data = hostile_epub(hostile_books.CHAPTER, hostile_books.CHAPTER_TWO, 1, neighbour)
        title_id = make_book(session, rt.storage, data, license="open").id
    html = client.get(f"/text/read/{title_id}").get_data(as_text=True)
    body = html.split('<main id="main">')[1]
    text = body.split("</nav>", 1)[1]  # after the contents (links to #c1, #c2, ...)
    assert "罠の二章。" in text
    assert not re.search(r"<(script|style|img|iframe|svg|form|object|embed|meta|link|a)\b", text, re.I)
    assert not re.search(r"\s(on\w+|style|src|href|class|id=\"(?!c\d))", text, re.I)
    assert "javascript:" not in body.lower()


def test_picture_books_and_pdfs_point_to_the_reader(client, rt):
    with rt.db.scope() as session:
        manga = make_book(session, rt.storage, manga_epub(), license="open").id
        pdf = make_book(session, rt.storage, make_pdf(2), PDF, license="open").id
    for title_id in (manga, pdf):
        html = client.get(f"/text/read/{title_id}").get_data(as_text=True)
        assert "テキスト版はありません" in html and f'href="/read/{title_id}"' in html


def test_search_lists_titles_as_links(client, rt):
    csrf_token_for(client)
    response = client.get("/text/?q=" + "x" * 5000)
    assert response.status_code in (200, 503)
    assert "<script" not in response.get_data(as_text=True)


def test_search_finds_a_title_and_links_to_its_text_page(client, rt):
    from elibrary.catalog import indexing

    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open", title="くさまくら読本").id
    with rt.db.scope() as session:
        indexing.follow_log(session, rt.search)
    html = client.get("/text/?q=くさまくら読本").get_data(as_text=True)
    assert f'href="/text/titles/{title_id}"' in html
    title_page = client.get(f"/text/titles/{title_id}").get_data(as_text=True)
    assert "無料で読めます" in title_page and f'href="/text/read/{title_id}"' in title_page
