"""Receiving a delivery: an ONIX delivery notice with the book files (EPUB, PDF, a ZIP of them), files that
arrive late, and files that cannot be used — through the order page, as a librarian does it."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select, update

from catalog_import.pool import delivered_books, delivered_isbns, unpack_books
from elibrary.catalog.models import BookFile, Title
from elibrary.lending import services as lending
from elibrary.lending.models import License
from elibrary.selection import funds, lists, orders
from elibrary.selection.models import OrderLine
from tests.conftest import csrf_token_for, sign_in_staff
from tests.lending.factories import make_patron
from tests.opds.conftest import minimal_epub
from tests.readers.factories import make_pdf
from tests.selection.factories import make_offer
from tests.slow_work import SlowWork

FIRST, SECOND, STRANGER = "9784990000042", "9784990000059", "9784990000080"


def onix_notice(*isbns: str, deleted: str = "") -> bytes:
    """A distributor's ONIX 3 delivery notice naming ``isbns`` (and one deletion, which is not a delivery)."""
    def product(isbn: str, notification: str = "03") -> str:
        return (f"<Product><RecordReference>dl-{isbn}</RecordReference><NotificationType>{notification}</NotificationType>"
                f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>"
                "<DescriptiveDetail><ProductComposition>00</ProductComposition><ProductForm>ED</ProductForm>"
                f"<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel><TitleText>本 {isbn}</TitleText>"
                "</TitleElement></TitleDetail></DescriptiveDetail></Product>")
    body = "".join(product(isbn) for isbn in isbns) + (product(deleted, "05") if deleted else "")
    return ('<?xml version="1.0" encoding="UTF-8"?><ONIXMessage release="3.0" xmlns="http://ns.editeur.org/onix/3.0/reference">'
            f"<Header><Sender><SenderName>ほんのもり</SenderName></Sender><SentDateTime>20270410</SentDateTime></Header>{body}</ONIXMessage>").encode()


def _order(rt, staff_user) -> int:
    with rt.db.scope() as session:
        staff = session.merge(staff_user)
        fund = funds.create_fund(session, staff, 2027, "一般書", 100_000)
        lst = lists.create_list(session, staff, "一般")
        for name, isbn in (("届いた本", FIRST), ("遅れた本", SECOND)):
            line, _ = lists.add_line(session, staff, lst.id, make_offer(session, title=name, isbn=isbn).id, fund_id=fund.id)
            lists.decide(session, staff, line.id, "adopted")
        return orders.make_order(session, staff, lst.id, fund.id, "ほんのもり", rounding="floor").id


def _zip(**entries: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _borrowable(rt, isbn: str) -> bool:
    with rt.db.scope(write=False) as session:
        title_id = session.scalar(select(Title.id).where(Title.isbn == isbn))
        return bool(session.scalar(select(func.count()).select_from(License).where(License.title_id == title_id)))


def test_onix_notice_reads_products_and_not_deletions():
    assert delivered_isbns(onix_notice(FIRST, SECOND, deleted=STRANGER)) == [FIRST, SECOND]


def test_a_delivery_with_its_book_files_makes_the_titles_borrowable_and_late_files_follow(client, rt):
    user = sign_in_staff(client, rt, "librarian")
    order_id = _order(rt, user)
    token = csrf_token_for(client)
    books = _zip(**{f"{FIRST}.epub": minimal_epub("届いた本"), f"{SECOND}.epub": b"not an epub at all", "__MACOSX/.x": b""})
    data = {"csrf_token": token, "file": (io.BytesIO(onix_notice(FIRST, SECOND)), "delivery.xml"),
            "books": [(io.BytesIO(books), "books.zip")]}
    response = client.post(f"/staff/selection/orders/{order_id}/delivery", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(f"/staff/selection/orders/{order_id}").text
    assert "使えなかったファイル" in page and f"{SECOND}.epub" in page
    assert _borrowable(rt, FIRST) and not _borrowable(rt, SECOND)
    assert "ファイル未着" in page and 'id="late-books"' in page

    data = {"csrf_token": token, "books": [(io.BytesIO(make_pdf(3)), f"{SECOND}.pdf")]}  # the file arrives a week later
    response = client.post(f"/staff/selection/orders/{order_id}/delivery", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    assert "1冊のファイルを登録" in client.get(f"/staff/selection/orders/{order_id}").text
    assert _borrowable(rt, SECOND)
    with rt.db.scope() as session:
        title = session.scalar(select(Title).where(Title.isbn == SECOND))
        assert session.scalar(select(BookFile.media_type).where(BookFile.title_id == title.id)) == "application/pdf"
        assert all(line.licensed for line in session.scalars(select(OrderLine)))
        assert lending.borrow(session, make_patron(session), title.id).title_id == title.id


def test_sign_ins_and_loans_go_on_while_a_delivery_is_read(client, rt, monkeypatch):
    from catalog_import import pool_views

    order_id = _order(rt, sign_in_staff(client, rt, "librarian"))
    slow, answers = SlowWork(), []
    monkeypatch.setattr(pool_views, "delivered_books", slow.wrap(pool_views.delivered_books))  # a large delivery's books being read
    data = {"csrf_token": csrf_token_for(client), "file": (io.BytesIO(onix_notice(FIRST)), "delivery.xml"),
            "books": [(io.BytesIO(_zip(**{f"{FIRST}.epub": minimal_epub("届いた本")})), "books.zip")]}
    seconds, still_reading = slow.write_during(
        lambda: answers.append(client.post(f"/staff/selection/orders/{order_id}/delivery", data=data, content_type="multipart/form-data")), rt,
        update(Title).where(Title.id == -1).values(publisher="別の書房"))  # another request's write
    assert still_reading and seconds < 5, seconds
    assert answers[0].status_code == 303 and _borrowable(rt, FIRST)


def test_the_same_notice_twice_is_refused_and_changes_nothing(client, rt):
    order_id = _order(rt, sign_in_staff(client, rt, "librarian"))
    token = csrf_token_for(client)
    for expected in (303, 409):
        data = {"csrf_token": token, "file": (io.BytesIO(onix_notice(FIRST)), "delivery.xml")}
        response = client.post(f"/staff/selection/orders/{order_id}/delivery", data=data, content_type="multipart/form-data")
        assert response.status_code == expected
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Title).where(Title.isbn == FIRST)) == 1


def test_a_malformed_notice_is_a_clear_error(client, rt):
    order_id = _order(rt, sign_in_staff(client, rt, "librarian"))
    data = {"csrf_token": csrf_token_for(client), "file": (io.BytesIO(b"<ONIXMessage><Product>"), "delivery.xml")}
    response = client.post(f"/staff/selection/orders/{order_id}/delivery", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "納品ファイル（ONIX）を読めません" in response.text
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Title)) == 0


def test_book_files_are_matched_by_the_isbn_inside_or_the_file_name(tmp_path):
    named = tmp_path / f"{FIRST}.pdf"
    named.write_bytes(make_pdf(2))
    unnamed = tmp_path / "scan.pdf"
    unnamed.write_bytes(make_pdf(2))
    books, problems = delivered_books([named, unnamed])
    assert list(books) == [FIRST] and books[FIRST].media_type == "application/pdf"
    assert problems == ["scan.pdf: ISBNが分かりません（ファイル名をISBNにしてください）"]


def test_a_zip_never_writes_outside_its_folder(tmp_path):
    upload = tmp_path / "books.zip"
    upload.write_bytes(_zip(**{f"../../{FIRST}.epub": minimal_epub("x"), "readme.txt": b"hi"}))
    (tmp_path / "out").mkdir()
    paths = unpack_books(upload, tmp_path / "out")
    assert paths == [tmp_path / "out" / f"{FIRST}.epub"]
