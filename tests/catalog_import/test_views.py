"""The admin's import page: staff only, the same summary and report as the command, output escaped."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from elibrary.catalog.models import Title
from tests.catalog.test_views_admin import sign_in_staff


def upload(client, token, data: bytes, name="books.csv", kind="csv", **extra):
    form = {"csrf_token": token, "kind": kind, "files": [(io.BytesIO(data), name)], **extra}
    return client.post("/admin/import", data=form, content_type="multipart/form-data")


ROWS = ("タイトル,著者,ISBN\n普通の本,山田,978-4-09-000003-4\n"
        "<script>alert('x')</script>,田中,978-4-09-000003-5\n=cmd|' /C calc'!A0,佐藤,\n").encode("cp932")


def test_staff_only(client, rt):
    assert client.get("/admin/import").status_code in (302, 303)
    sign_in_staff(client, rt, "teacher")
    assert client.get("/admin/import").status_code == 403


def test_upload_shows_the_summary_and_escaped_rejections(client, rt):
    token = sign_in_staff(client, rt)
    page = client.get("/admin/import")
    assert page.status_code == 200 and "タイトル, 書名, 題名, title" in page.get_data(as_text=True)
    response = upload(client, token, ROWS)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-count="added">1<' in html and 'data-count="rejected">2<' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "line 3" in html and "line 4" in html
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Title)) == 1
    link = html.split('href="/admin/import/reports/')[1].split('"')[0]
    report = client.get(f"/admin/import/reports/{link}")
    text = report.data.decode("utf-8-sig")
    assert report.status_code == 200 and "line 4" in text and "'=cmd|" in text  # formula neutralised in our CSV
    assert client.get("/admin/import/reports/../../secret_key.csv").status_code == 404
    assert client.get("/admin/import/reports/notarealreportid0000000000.csv").status_code == 404


def test_dry_run_upload_writes_nothing(client, rt):
    token = sign_in_staff(client, rt)
    html = upload(client, token, ROWS, dry_run="1").get_data(as_text=True)
    assert 'data-count="added">1<' in html and "dry run" in html.lower() or "確認のみ" in html
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Title)) == 0


def test_missing_file_or_kind_is_a_form_error(client, rt):
    token = sign_in_staff(client, rt)
    response = client.post("/admin/import", data={"csrf_token": token, "kind": "csv"}, content_type="multipart/form-data")
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)
    assert upload(client, token, b"x", kind="pdf").status_code == 400


def test_template_download(client, rt):
    sign_in_staff(client, rt)
    response = client.get("/admin/import/template.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert response.data.decode("utf-8-sig").splitlines()[0].startswith("ISBN,タイトル,タイトルヨミ")
