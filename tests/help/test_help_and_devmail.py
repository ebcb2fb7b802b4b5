"""/help pages, the manuals served from docs/ja, the privacy text on registration, and the development mailbox."""
from __future__ import annotations

import re

import pytest

from elibrary import create_app
from elibrary.config import ConfigError
from elibrary.help import manuals
from elibrary.notify.base import Message
from elibrary.notify.devmail import DevMailbox
from tests.conftest import csrf_token_for

FORM = {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "2001-04-01", "postal_code": "650-0001",
        "address": "兵庫県神戸市中央区加納町6-5-1", "phone": "078-331-8181", "email": "hanako@example.jp"}


@pytest.fixture
def app_config(app_config):
    app_config.update(ELIBRARY_NOTIFIER="dev")
    return app_config


@pytest.mark.parametrize("path", ["/help", "/help/kids", "/help/faq", "/help/apps", "/help/privacy", "/help/about"])
def test_every_help_page_answers_in_both_languages(client, path):
    japanese = client.get(path)
    english = client.get(path + "?lang=en")
    assert japanese.status_code == english.status_code == 200
    assert 'lang="ja"' in japanese.get_data(as_text=True)
    assert "Privacy policy" in english.get_data(as_text=True)


def test_the_children_version_has_furigana(client):
    page = client.get("/help/kids").get_data(as_text=True)
    assert "<ruby>借<rt>か</rt></ruby>" in page


def test_the_apps_page_gives_the_opds_address_and_a_qr_code(client):
    page = client.get("/help/apps").get_data(as_text=True)
    assert "http://localhost/opds/v1/" in page and 'src="data:image/svg+xml' in page and "KOReader" in page


def test_manuals_are_served_rendered_and_only_by_their_names(client):
    names = manuals.listing(manuals.DEFAULT_DOCS)
    assert "利用者ガイド" in names
    index = client.get("/help").get_data(as_text=True)
    assert "/help/manuals/%E5%88%A9%E7%94%A8%E8%80%85%E3%82%AC%E3%82%A4%E3%83%89" in index
    page = client.get("/help/manuals/利用者ガイド")
    assert page.status_code == 200 and "<h2>" in page.get_data(as_text=True)
    assert client.get("/help/manuals/..%2Fconfig").status_code == 404
    assert client.get("/help/manuals/nothing").status_code == 404


def test_the_pdf_editions_markers_never_show_on_the_page(client):
    for name in ("管理者向けマニュアル", "学校ID運用マニュアル", "統計"):
        html = client.get(f"/help/manuals/{name}").get_data(as_text=True)
        assert "詳細版のみ" not in html and "&lt;!--" not in html, name


def test_markup_in_a_manual_is_shown_as_text(tmp_path):
    (tmp_path / "x.md").write_text("# T\n\n<script>alert(1)</script>\n", encoding="utf-8")
    _, html = manuals.render(tmp_path, "x")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_registration_form_says_what_is_collected_why_how_long_and_who_sees_it(client):
    page = client.get("/register").get_data(as_text=True)
    for words in ("集める情報", "目的", "保存期間", "見る人", "/help/privacy"):
        assert words in page
    footer = client.get("/").get_data(as_text=True)
    assert 'href="/help/privacy"' in footer and 'href="/help/about"' in footer and 'href="/help"' in footer


def test_a_newcomer_finishes_registration_from_the_development_mailbox(client, rt):
    sent = client.post("/register", data={**FORM, "csrf_token": csrf_token_for(client)})
    assert sent.status_code == 200
    rt.deliver_notifications()
    mailbox = client.get("/dev/mail").get_data(as_text=True)
    assert "hanako@example.jp" in mailbox
    link = re.search(r'<a href="http://localhost(/register/confirm/[\w-]+)">', mailbox).group(1)
    assert client.get(link).status_code == 200
    done = client.post(link, data={"pin": "hana2468", "pin2": "hana2468", "csrf_token": csrf_token_for(client)})
    assert done.status_code == 200 and re.search(r'class="card-number">P\d{9}<', done.get_data(as_text=True))


def test_the_mailbox_is_not_there_with_another_notifier(app_config, tmp_path):
    app_config.update(ELIBRARY_NOTIFIER="memory")
    assert create_app(app_config).test_client().get("/dev/mail").status_code == 404


def test_production_refuses_the_development_notifier(app_config):
    app_config.update(ELIBRARY_ENV="production", ELIBRARY_PUBLIC_URL="https://library.example.jp",
                      ELIBRARY_SECRET_KEY="s" * 40, ELIBRARY_DATA_KEY="d" * 44, ELIBRARY_AUDIT_KEY="a" * 40)
    with pytest.raises(ConfigError, match="ELIBRARY_NOTIFIER is dev"):
        create_app(app_config)
    with pytest.raises(ConfigError):
        DevMailbox.from_settings({"ELIBRARY_ENV": "production"})


def test_the_mailbox_keeps_messages_newest_first(tmp_path):
    box = DevMailbox(tmp_path)
    box.send(Message("email", "a@example.jp", "first", "one"))
    box.send(Message("email", "b@example.jp", "second", "two <b>"))
    assert [m.subject for m in box.messages()] == ["second", "first"]


def test_links_between_manuals_open_their_pages_and_links_outside_become_text(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\n[B](b.md#2) and [the code](../architecture.md) and [site](https://example.jp/)\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n", encoding="utf-8")
    _, html = manuals.render(tmp_path, "a")
    assert '<a href="b#2">B</a>' in html and "the code" in html and "architecture.md" not in html
    assert '<a href="https://example.jp/">site</a>' in html


def test_mailbox_text_is_escaped_and_only_web_addresses_become_links(app):
    from elibrary.web.devmail import linked

    html = str(linked('<script>x</script> open https://lib.example.jp/register/confirm/abc"onmouseover=1 now'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://lib.example.jp/register/confirm/abc">' in html
