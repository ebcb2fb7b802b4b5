"""Cover images over HTTP: thumbnails, placeholders, content types and cache headers."""
from __future__ import annotations

import io
import re

from PIL import Image

from elibrary.catalog.covers import set_cover
from tests.catalog.factories import make_title


def jpeg(width=800, height=1200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(out, "JPEG")
    return out.getvalue()


def cover_src(client, title_id: int) -> str:
    page = client.get(f"/titles/{title_id}").get_data(as_text=True)
    return re.search(r'class="cover-large" src="([^"]+)"', page).group(1).replace("&amp;", "&")


def test_thumbnails_are_sized_typed_and_cached_for_a_year(client, rt):
    with rt.db.scope() as session:
        title = make_title(session)
        set_cover(session, rt.storage, title, io.BytesIO(jpeg()))
    url = cover_src(client, title.id)
    assert re.fullmatch(rf"/covers/{title.id}/lg\?v=[0-9a-f]{{16}}", url)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(response.data)).size == (480, 720)
    small = client.get(url.replace("/lg", "/sm"))
    assert Image.open(io.BytesIO(small.data)).size == (120, 180)
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"].startswith("public")


def test_a_new_cover_changes_the_url_and_old_urls_get_a_short_cache(client, rt):
    with rt.db.scope() as session:
        title = make_title(session)
        set_cover(session, rt.storage, title, io.BytesIO(jpeg()))
    old = cover_src(client, title.id)
    with rt.db.scope() as session:
        set_cover(session, rt.storage, session.merge(title), io.BytesIO(jpeg(600, 900)))
    new = cover_src(client, title.id)
    assert new != old
    response = client.get(old)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=300"
    assert client.get(f"/covers/{title.id}/md").headers["Cache-Control"] == "public, max-age=300"


def test_titles_without_a_cover_get_an_escaped_svg_placeholder(client, rt):
    with rt.db.scope() as session:
        title = make_title(session, title="<script>alert(1)</script>&とても長いタイトルの本がここにあります")
    response = client.get(cover_src(client, title.id))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"].endswith("immutable")
    assert "<script>" not in body and "&lt;script&gt;" in body and "山田太郎" in body
    assert body.startswith("<svg") and body.count("<text") >= 3  # wrapped onto several lines


def test_unknown_sizes_and_titles_are_404(client, rt):
    with rt.db.scope() as session:
        title = make_title(session)
    assert client.get(f"/covers/{title.id}/xxl").status_code == 404
    assert client.get("/covers/424242/md").status_code == 404
