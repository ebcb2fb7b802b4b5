"""The readers over HTTP: who may fetch what, how resources are served, and positions per loan."""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select

from elibrary.books.packing import pack_epub_directory
from elibrary.lending import services as lending
from elibrary.patrons.models import Patron
from readers.models import ReadingPosition
from tests.conftest import csrf_token_for
from tests.readers.factories import KUSAMAKURA, PDF, PIN, make_book, make_patron, make_sample

CHAPTER = "/r/OPS/xhtml/%E4%B8%80.xhtml"  # OPS/xhtml/一.xhtml
PORTRAIT = "/r/OPS/images/%E5%A4%8F%E7%9B%AE%E6%BC%B1%E7%9F%B3.jpg"  # OPS/images/夏目漱石.jpg


def sign_in(client, card: str) -> str:
    token = csrf_token_for(client)
    response = client.post("/login", data={"card": card, "pin": PIN, "csrf_token": token})
    assert response.status_code == 303
    return csrf_token_for(client)


def licensed(rt, **kwargs):
    """A one-copy kusamakura and a patron; returns (title id, patron id, card)."""
    with rt.db.scope() as session:
        title = make_sample(session, rt.storage, **kwargs)
        patron, card = make_patron(session, rt.cipher)
        return title.id, patron.id, card


def borrow(rt, patron_id: int, title_id: int) -> int:
    with rt.db.scope() as session:
        return lending.borrow(session, session.get(Patron, patron_id), title_id).id


def return_loan(rt, patron_id: int, loan_id: int) -> None:
    with rt.db.scope() as session:
        lending.return_loan(session, session.get(Patron, patron_id), loan_id)


def test_open_titles_are_readable_by_anyone_with_a_strict_page_policy(client, rt):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    page = client.get(f"/read/{title_id}")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    # Only the engine's own files (never 'self', where a book's entries could be), and the hashed import map.
    assert directives["script-src"][:3] == ["http://localhost/read/engine/", "http://localhost/read/static/", "'wasm-unsafe-eval'"]
    assert directives["script-src"][3].startswith("'sha256-") and len(directives["script-src"]) == 4
    assert directives["frame-src"] == ["blob:"] and directives["form-action"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in policy.split("style-src")[0]
    assert "<script>" not in page.text  # no inline script: data blocks, the hashed import map, our modules
    data = json.loads(re.search(r'<script type="application/json" id="book-data">(.*?)</script>', page.text).group(1))
    assert data["dir"] == "rtl" and "OPS/xhtml/一.xhtml" in data["sizes"]


def test_resources_have_types_etags_ranges_and_a_sandbox_policy(client, rt):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    chapter = client.get(f"/read/{title_id}{CHAPTER}")
    assert chapter.status_code == 200
    assert chapter.mimetype == "application/xhtml+xml"
    assert chapter.headers["Content-Security-Policy"].startswith("sandbox;")
    assert "script-src 'none'" in chapter.headers["Content-Security-Policy"]
    assert chapter.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in chapter.headers["Cache-Control"]
    assert "非人情" in chapter.text
    again = client.get(f"/read/{title_id}{CHAPTER}", headers={"If-None-Match": chapter.headers["ETag"]})
    assert again.status_code == 304
    image = client.get(f"/read/{title_id}{PORTRAIT}", headers={"Range": "bytes=0-99"})
    assert image.status_code == 206 and len(image.data) == 100 and image.mimetype == "image/jpeg"
    assert image.headers["Content-Range"] == f"bytes 0-99/{(KUSAMAKURA / 'OPS/images/夏目漱石.jpg').stat().st_size}"
    assert image.data == (KUSAMAKURA / "OPS/images/夏目漱石.jpg").read_bytes()[:100]
    assert client.get(f"/read/{title_id}/r/OPS/xhtml/none.xhtml").status_code == 404
    assert client.get(f"/read/{title_id}/r/OPS/../../etc/passwd").status_code == 404


def test_legacy_epub_css_is_served_as_standard_css(client, rt):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    css = client.get(f"/read/{title_id}/r/OPS/css/vertical.css")
    assert css.mimetype == "text/css"
    assert "-epub-" not in css.text
    assert "writing-mode: vertical-rl" in css.text
    assert "text-combine-upright: all" in css.text
    assert "text-emphasis-style: sesame" in css.text and "-webkit-text-emphasis-style: sesame" in css.text


def test_large_media_streams_in_ranges_without_reading_the_whole_entry(client, rt):
    payload = bytes(range(256)) * 4096  # 1 MiB, stored: served by the streaming path
    data = io.BytesIO(pack_epub_directory(KUSAMAKURA))
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr(zipfile.ZipInfo("OPS/audio/朗読.mp3"), payload, compress_type=zipfile.ZIP_STORED)
    with rt.db.scope() as session:
        title_id = make_book(session, rt.storage, data.getvalue(), license="open").id
    url = f"/read/{title_id}/r/OPS/audio/%E6%9C%97%E8%AA%AD.mp3"
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == payload[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(payload)}"
    assert part.mimetype == "audio/mpeg"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.data == payload[-10:]
    assert client.get(url, headers={"Range": f"bytes={len(payload) + 5}-"}).status_code == 416
    assert client.get(url).data == payload


def test_licensed_books_need_a_current_loan_and_close_when_it_is_returned(client, rt):
    title_id, patron_id, card = licensed(rt)
    assert client.get(f"/read/{title_id}{CHAPTER}").status_code == 403
    sign_in(client, card)
    assert client.get(f"/read/{title_id}").status_code == 403
    loan_id = borrow(rt, patron_id, title_id)
    assert client.get(f"/read/{title_id}").status_code == 200
    chapter = client.get(f"/read/{title_id}{CHAPTER}")
    assert chapter.status_code == 200
    return_loan(rt, patron_id, loan_id)
    assert client.get(f"/read/{title_id}{CHAPTER}").status_code == 403
    # Not even a revalidation with the ETag from the loan period gets through.
    assert client.get(f"/read/{title_id}{CHAPTER}", headers={"If-None-Match": chapter.headers["ETag"]}).status_code == 403
    assert client.get(f"/read/{title_id}").status_code == 403


def test_downloads_only_for_open_titles_or_licences_that_allow_it(client, rt):
    title_id, patron_id, card = licensed(rt)
    sign_in(client, card)
    borrow(rt, patron_id, title_id)
    assert client.get(f"/read/{title_id}/download").status_code == 403
    with rt.db.scope() as session:
        open_id = make_sample(session, rt.storage, license="open").id
        free_id = make_sample(session, rt.storage, drm_free_download=True).id
    borrow(rt, patron_id, free_id)
    for readable in (open_id, free_id):
        response = client.get(f"/read/{readable}/download")
        assert response.status_code == 200 and response.mimetype == "application/epub+zip"
        assert response.data.startswith(b"PK") and "attachment" in response.headers["Content-Disposition"]


def test_position_is_kept_per_loan_and_forgotten_when_the_loan_ends(client, rt):
    title_id, patron_id, card = licensed(rt)
    token = sign_in(client, card)
    loan_id = borrow(rt, patron_id, title_id)
    url = f"/read/{title_id}/position"
    body = {"location": "epubcfi(/6/8!/4/2)", "fraction": 0.25, "bookmarks": [{"location": "epubcfi(/6/4!)", "label": "表紙", "fraction": 0.01}]}
    assert client.put(url, json=body).status_code == 400  # no CSRF token
    saved = client.put(url, json=body, headers={"X-CSRF-Token": token})
    assert saved.status_code == 200 and saved.json["revision"] == 1
    assert client.get(url).json["location"] == "epubcfi(/6/8!/4/2)"
    assert "epubcfi(/6/8!/4/2)" in client.get(f"/read/{title_id}").text  # restored on any device
    assert client.put(url, json={"location": "x" * 2000, "fraction": 0}, headers={"X-CSRF-Token": token}).status_code == 400
    return_loan(rt, patron_id, loan_id)
    with rt.db.scope() as session:
        assert session.scalars(select(ReadingPosition)).all() == []


def test_position_survives_the_loan_for_patrons_keeping_a_reading_history(client, rt):
    title_id, patron_id, card = licensed(rt)
    with rt.db.scope() as session:
        session.get(Patron, patron_id).keep_reading_history = True
    token = sign_in(client, card)
    loan_id = borrow(rt, patron_id, title_id)
    client.put(f"/read/{title_id}/position", json={"location": "epubcfi(/6/10!)", "fraction": 0.5},
               headers={"X-CSRF-Token": token})
    return_loan(rt, patron_id, loan_id)
    with rt.db.scope() as session:
        kept = session.scalars(select(ReadingPosition)).one()
        assert kept.loan_id is None and kept.location == "epubcfi(/6/10!)"
    borrow(rt, patron_id, title_id)
    assert client.get(f"/read/{title_id}/position").json["location"] == "epubcfi(/6/10!)"


def test_pdf_is_served_by_ranges_behind_the_same_check(client, rt):
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number in range(3):
        pdf.drawString(72, 720, f"Page {number + 1}")
        pdf.showPage()
    pdf.save()
    with rt.db.scope() as session:
        title_id = make_book(session, rt.storage, buffer.getvalue(), PDF, license="open").id
    assert '"format": "pdf"' in client.get(f"/read/{title_id}").text
    head = client.get(f"/read/{title_id}/pdf", headers={"Range": "bytes=0-7"})
    assert head.status_code == 206 and len(head.data) == 8 and head.data.startswith(b"%PDF")
    assert head.headers["Accept-Ranges"] == "bytes"
    assert client.get(f"/read/{title_id}/r/mimetype").status_code == 404


def test_the_title_page_offers_read_for_open_titles(client, rt):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    page = client.get(f"/titles/{title_id}")
    assert f'href="/read/{title_id}"' in page.text and "読む" in page.text


@pytest.mark.parametrize("path", ["foliate-js/view.js", "pdfjs-dist/build/pdf.min.mjs"])
def test_engines_are_served_from_node_modules_only_where_allowed(client, path):
    with client.get(f"/read/engine/{path}") as response:
        assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert client.get("/read/engine/foliate-js/package.json").status_code == 404
    assert client.get("/read/engine/pdfjs-dist/../../package.json").status_code == 404


def test_stopping_the_reading_history_forgets_kept_positions(client, rt):
    title_id, patron_id, card = licensed(rt)
    with rt.db.scope() as session:
        session.get(Patron, patron_id).keep_reading_history = True
    token = sign_in(client, card)
    loan_id = borrow(rt, patron_id, title_id)
    client.put(f"/read/{title_id}/position", json={"location": "epubcfi(/6/10!)", "fraction": 0.5},
               headers={"X-CSRF-Token": token})
    return_loan(rt, patron_id, loan_id)
    with rt.db.scope() as session:
        assert session.scalars(select(ReadingPosition)).one().loan_id is None
        lending.set_reading_history(session, session.get(Patron, patron_id), False)
    with rt.db.scope() as session:
        assert session.scalars(select(ReadingPosition)).all() == []


def test_the_reader_speaks_english_when_asked_and_borrowing_is_suggested_for_licensed_titles(client, rt):
    title_id, patron_id, card = licensed(rt)
    sign_in(client, card)
    hint = client.get(f"/titles/{title_id}")
    assert "借りるとブラウザで読めます" in hint.text and f'href="/read/{title_id}"' not in hint.text
    borrow(rt, patron_id, title_id)
    page = client.get(f"/read/{title_id}?lang=en")
    assert "Contents" in page.text and "Read aloud" in page.text and "Next page" in page.text
    assert f'href="/read/{title_id}"' in client.get(f"/titles/{title_id}").text
