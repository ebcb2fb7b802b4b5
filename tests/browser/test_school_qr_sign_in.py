"""QR sign-in in Chromium: the camera app's way (the card's URL opened) and the sign-in page's scanner, which
reads a fake camera fed from a Y4M file showing the card's QR code (``--use-file-for-fake-video-capture``)."""
from __future__ import annotations

from pathlib import Path

import pytest
import segno
from PIL import Image

from elibrary.schools import signin_tokens
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TABLET, assert_accessible, new_context, screenshot
from tests.schools.signin_factories import make_pupil, make_school


def write_y4m(path: Path, text: str, *, width: int = 640, height: int = 480, frames: int = 10) -> Path:
    """A short YUV4MPEG2 (4:2:0) video of ``text`` as a QR code on white, as a webcam would see a card held up."""
    rows = list(segno.make(text, error="m").matrix_iter(scale=1, border=4))
    qr = Image.new("L", (len(rows[0]), len(rows)), 255)
    qr.putdata([0 if dark else 255 for row in rows for dark in row])
    side = min(width, height) - 40
    qr = qr.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


@pytest.fixture
def browser_context_options() -> dict:
    return {**TABLET, "locale": "ja-JP"}


@pytest.fixture
def card(live_server):
    rt = live_server.rt
    with rt.db.scope() as session:
        school = make_school(session)
        member = make_pupil(session, rt.cipher, school, "kxm4p7qa")
        return signin_tokens.issue_cards(session, rt.cipher, [member.patron_id], issued_by="cli")[0]


def _signed_in(page) -> bool:
    return page.get_by_role("button", name="ログアウト", exact=True).count() > 0


def test_the_camera_app_opens_the_card_url_and_the_token_never_travels_in_a_url(page, live_server, card):
    urls = []
    page.on("request", lambda request: urls.append(request.url))
    url = signin_tokens.qr_url(live_server.url, card.token)
    with page.expect_navigation(url=live_server("/")):
        page.goto(url)
    assert _signed_in(page)
    secret = card.token.split(".")[1]
    assert urls and not any(secret in u for u in urls)
    assert "#" not in page.url


def test_a_revoked_card_opened_by_the_camera_app_says_so(page, live_server, card):
    with live_server.rt.db.scope() as session:
        signin_tokens.revoke_card(session, card.patron_id)
    page.goto(signin_tokens.qr_url(live_server.url, card.token))
    page.get_by_role("alert").filter(has_text="このカードは使えなくなっています").wait_for()
    assert not _signed_in(page)
    assert_accessible(page)
    screenshot(page, "school-qr-revoked")


def _camera_browser(playwright_instance, video: Path):
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    return playwright_instance.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


def test_the_sign_in_page_scans_the_card_with_the_camera(playwright_instance, live_server, card, tmp_path):
    video = write_y4m(tmp_path / "card.y4m", signin_tokens.qr_url(live_server.url, card.token))
    camera = _camera_browser(playwright_instance, video)
    try:
        context = new_context(camera, live_server, **TABLET, locale="ja-JP", permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server("/school/signin"))
        assert_accessible(page)
        screenshot(page, "school-signin")
        with page.expect_navigation(url=live_server("/")):
            page.get_by_role("button", name="カメラでQRコードを読み取る").tap()
        assert _signed_in(page)
        context.close()
    finally:
        camera.close()
    assert not live_server.external_requests


def test_the_scanner_refuses_a_qr_code_that_is_not_a_card(playwright_instance, live_server, card, tmp_path):
    video = write_y4m(tmp_path / "other.y4m", "https://www.example.jp/not-a-card")
    camera = _camera_browser(playwright_instance, video)
    try:
        context = new_context(camera, live_server, **TABLET, locale="ja-JP", permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server("/school/signin"))
        page.get_by_role("button", name="カメラでQRコードを読み取る").tap()
        page.get_by_role("status").filter(has_text="これはログインカードのQRコードではありません").wait_for()
        screenshot(page, "school-signin-not-a-card")
        assert not _signed_in(page)
        context.close()
    finally:
        camera.close()


def test_a_damaged_card_url_gets_the_altered_message(page, live_server, card):
    page.goto(signin_tokens.qr_url(live_server.url, "%E0%A4%A" + card.token[3:]))
    page.get_by_role("alert").filter(has_text="書きかえられています").wait_for()
    assert not _signed_in(page)
