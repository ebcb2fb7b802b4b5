"""Staff admin of titles and shelves through the Flask client: CRUD, validation, permissions, covers."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from elibrary.catalog.models import Shelf, ShelfItem, Title, TitleStatus
from elibrary.staff.services import add_staff
from tests.catalog.factories import make_title
from tests.conftest import csrf_token_for


def sign_in_staff(client, rt, role: str = "librarian") -> str:
    """Sign a new staff member in through the session (the sign-in form has its own tests); returns a CSRF token."""
    from flask_login.utils import _create_identifier

    from elibrary.security import sessions

    with rt.db.scope() as session:
        user, _password = add_staff(session, f"{role}-{id(client)}@city.example.jp", role, "S1" if role == "teacher" else None)
        sid = sessions.start(session, f"s:{user.id}")
    token = csrf_token_for(client)
    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as sess:
        sess.update({"_user_id": f"s:{user.id}", "_fresh": True, "_id": identifier, "_sid": sid})
    return token


def png(width=60, height=90, colour="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def form(token, **fields):
    data = {
        "csrf_token": token, "title": "新しい本", "title_reading": "アタラシイ ホン", "subtitle": "", "series_title": "", "series_reading": "",
        "volume": "", "publisher": "みどり出版", "published_on": "2024-04-01", "isbn": "978-4-10-101001-4", "ndc": "913.6", "language": "ja",
        "audience": "general", "age_min": "", "age_max": "", "description": "説明", "format": "epub-reflowable", "page_count": "120",
        "page_progression": "", "subjects": "猫\n冒険", "contributor-0-name": "夏目漱石", "contributor-0-reading": "ナツメ ソウセキ",
        "contributor-0-role": "aut", "contributor-1-name": "", "contributor-1-reading": "", "contributor-1-role": "aut",
    }
    data.update(fields)
    return data


def count_titles(rt) -> int:
    with rt.db.scope() as session:
        return session.scalar(select(func.count(Title.id)))


@pytest.mark.parametrize("path", ["/admin/titles", "/admin/titles/new", "/admin/shelves"])
def test_anonymous_visitors_are_sent_to_staff_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_patrons_and_teachers_may_not_use_the_admin(client, rt):
    sign_in_staff(client, rt, "teacher")
    assert client.get("/admin/titles").status_code == 403
    assert client.get("/admin/titles/new").status_code == 403


def test_list_and_filter_titles_including_withdrawn(client, rt):
    with rt.db.scope() as session:
        make_title(session, title="猫の本")
        gone = make_title(session, title="古い本")
        gone.status = TitleStatus.withdrawn
    sign_in_staff(client, rt)
    page = client.get("/admin/titles").get_data(as_text=True)
    assert "猫の本" in page and "古い本" in page and "除籍" in page
    page = client.get("/admin/titles?q=猫").get_data(as_text=True)
    assert "猫の本" in page and "古い本" not in page
    page = client.get("/admin/titles?status=withdrawn").get_data(as_text=True)
    assert "古い本" in page and "猫の本" not in page
    assert client.get("/admin/titles?q=%25_").status_code == 200  # LIKE wildcards are plain text


def test_add_a_title_with_a_cover(client, rt):
    token = sign_in_staff(client, rt, "admin")
    response = client.post(
        "/admin/titles/new", data={**form(token), "cover": (io.BytesIO(png()), "cover.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    with rt.db.scope() as session:
        title = session.scalars(select(Title)).one()
        assert title.title == "新しい本" and title.isbn == "9784101010014" and title.cover_key.startswith(f"covers/{title.id}/")
        assert [tc.contributor.name for tc in title.contributors] == ["夏目漱石"]
        assert [s.term for s in title.subjects] == ["猫", "冒険"]
    assert response.headers["Location"].endswith(f"/admin/titles/{title.id}/edit")
    assert "「新しい本」を登録しました" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/search?q=新しい").get_data(as_text=True).count('class="result"') == 1  # indexed after commit
    cover = client.get(f"/covers/{title.id}/sm")
    assert cover.status_code == 200 and cover.mimetype == "image/png"


@pytest.mark.parametrize(
    ("fields", "message", "status"),
    [
        ({"isbn": "978-4-10-101001-3"}, "ISBN", 400),
        ({"title": "  "}, "タイトルを入力してください", 400),
        ({"published_on": "2024-13-45"}, "出版日", 400),
        ({"age_min": "12", "age_max": "3"}, "対象年齢", 400),
        ({"contributor-0-name": "", "contributor-0-reading": "ナツメ"}, "著者名を入力してください", 400),
        ({"ndc": "abc"}, "NDC", 400),
    ],
)
def test_invalid_input_shows_the_form_again_with_what_was_typed(client, rt, fields, message, status):
    token = sign_in_staff(client, rt)
    response = client.post("/admin/titles/new", data=form(token, **fields, description="<b>残す</b>"))
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert message in page and 'role="alert"' in page
    assert "&lt;b&gt;残す&lt;/b&gt;</textarea>" in page and 'value="みどり出版"' in page
    assert count_titles(rt) == 0


def test_duplicate_isbn_is_a_conflict_and_stores_nothing(client, rt):
    with rt.db.scope() as session:
        make_title(session, isbn="9784101010014")
    token = sign_in_staff(client, rt)
    response = client.post("/admin/titles/new", data=form(token))
    assert response.status_code == 409 and "すでに登録されています" in response.get_data(as_text=True)
    assert count_titles(rt) == 1


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ((b"%PDF-1.7 not an image", "cover.png"), "画像ファイルとして読み込めません"),
        ((b"", "empty.jpg"), "空のファイル"),
        ((png()[:60], "cut.png"), "画像ファイルとして読み込めません"),
    ],
)
def test_bad_cover_uploads_store_nothing(client, rt, upload, message):
    token = sign_in_staff(client, rt)
    data, filename = upload
    response = client.post(
        "/admin/titles/new", data={**form(token), "cover": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count_titles(rt) == 0
    assert list(rt.storage.keys("covers/")) == []


def test_oversized_upload_is_refused_with_a_message(app, client, rt):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    token = sign_in_staff(client, rt)
    response = client.post(
        "/admin/titles/new", data={**form(token), "cover": (io.BytesIO(b"\0" * 60_000), "big.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413 and "ファイルが大きすぎます" in response.get_data(as_text=True)
    assert count_titles(rt) == 0


def test_edit_keeps_subject_readings_and_replaces_the_cover(client, rt):
    from elibrary.catalog.services import SubjectEntry

    with rt.db.scope() as session:
        title = make_title(session, subjects=(SubjectEntry("猫", "ネコ", "ndlsh"),))
    token = sign_in_staff(client, rt)
    page = client.get(f"/admin/titles/{title.id}/edit").get_data(as_text=True)
    assert 'value="テストの本"' in page and "山田太郎" in page
    response = client.post(
        f"/admin/titles/{title.id}/edit",
        data={**form(token, title="改題した本", isbn="", subjects="猫\n犬"), "cover": (io.BytesIO(png(colour="blue")), "c.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with rt.db.scope() as session:
        edited = session.get(Title, title.id)
        assert edited.title == "改題した本" and edited.isbn is None and edited.cover_key
        assert [(s.term, s.reading, s.scheme) for s in edited.subjects] == [("猫", "ネコ", "ndlsh"), ("犬", "", "keyword")]
    response = client.post(f"/admin/titles/{title.id}/edit", data=form(token, title="改題した本", isbn="", remove_cover="1"))
    with rt.db.scope() as session:
        assert session.get(Title, title.id).cover_key is None


def test_failed_edit_changes_nothing(client, rt):
    with rt.db.scope() as session:
        title = make_title(session, title="元のタイトル")
    token = sign_in_staff(client, rt)
    response = client.post(f"/admin/titles/{title.id}/edit", data=form(token, title="変えたい", isbn="123"))
    assert response.status_code == 400 and 'value="変えたい"' in response.get_data(as_text=True)
    with rt.db.scope() as session:
        assert session.get(Title, title.id).title == "元のタイトル"


def test_withdraw_and_reinstate(client, rt):
    with rt.db.scope() as session:
        title = make_title(session, title="除籍する本")
    token = sign_in_staff(client, rt)
    assert client.post(f"/admin/titles/{title.id}/withdraw", data={"csrf_token": token}).status_code == 303
    assert client.get(f"/titles/{title.id}").status_code == 200  # staff still see it, with a notice
    assert "除籍されています" in client.get(f"/titles/{title.id}").get_data(as_text=True)
    assert "除籍する本" not in client.get("/search?q=除籍").get_data(as_text=True)
    client.post(f"/admin/titles/{title.id}/reinstate", data={"csrf_token": token})
    assert "除籍する本" in client.get("/search?q=除籍").get_data(as_text=True)


def test_posts_need_the_csrf_token(client, rt):
    with rt.db.scope() as session:
        title = make_title(session)
    sign_in_staff(client, rt)
    assert client.post(f"/admin/titles/{title.id}/withdraw", data={}).status_code == 400
    with rt.db.scope() as session:
        assert session.get(Title, title.id).status == TitleStatus.active


def test_curate_a_shelf(client, rt):
    with rt.db.scope() as session:
        first = make_title(session, title="一冊目", isbn="9784101010014")
        second = make_title(session, title="二冊目")
    token = sign_in_staff(client, rt)
    response = client.post("/admin/shelves", data={"csrf_token": token, "slug": "picks", "name": "おすすめ", "is_public": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/shelves/picks")
    client.post("/admin/shelves/picks/items", data={"csrf_token": token, "title": "978-4-10-101001-4"})
    client.post("/admin/shelves/picks/items", data={"csrf_token": token, "title": str(second.id), "position": "0"})
    assert "「二冊目」を棚に置きました" in client.get("/admin/shelves/picks").get_data(as_text=True)
    page = client.get("/shelves/picks").get_data(as_text=True)
    assert page.index("二冊目") < page.index("一冊目")
    client.post("/admin/shelves/picks/items", data={"csrf_token": token, "title": str(first.id), "action": "remove"})
    with rt.db.scope() as session:
        assert session.scalars(select(ShelfItem.title_id)).all() == [second.id]
    bad = client.post("/admin/shelves", data={"csrf_token": token, "slug": "Bad Slug!", "name": "x"})
    assert bad.status_code == 400 and "英小文字" in bad.get_data(as_text=True) and 'value="Bad Slug!"' in bad.get_data(as_text=True)
    unknown = client.post(
        "/admin/shelves/picks/items", data={"csrf_token": token, "title": "9999999"}, headers={"Referer": "http://localhost/admin/shelves/picks"}
    )
    assert unknown.status_code == 303
    assert "見つかりません" in client.get("/admin/shelves/picks").get_data(as_text=True)
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Shelf.id))) == 1


def test_header_links_to_the_admin_for_librarians_only(client, rt, app):
    assert "資料管理" not in client.get("/").get_data(as_text=True)
    sign_in_staff(client, rt, "teacher")
    assert "資料管理" not in client.get("/").get_data(as_text=True)
    other = app.test_client()
    sign_in_staff(other, rt, "librarian")
    assert 'href="/admin/titles">資料管理' in other.get("/").get_data(as_text=True)
