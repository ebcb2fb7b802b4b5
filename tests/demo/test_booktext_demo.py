"""The demo collection shows 本文検索 working: the open titles' text and 月夜の郵便局 (its licence allows it) are indexed."""
from __future__ import annotations

import pytest

from elibrary.demo import load_demo


@pytest.fixture
def app_config(app_config):
    app_config["ELIBRARY_BOOKTEXT"] = "tantivy"
    return app_config


def test_the_demo_books_text_is_searchable(rt, client):
    with rt.db.scope() as session:
        load_demo(session, rt, echo=lambda _line: None)
    status = rt.booktext.status()
    assert status["ok"] and status["titles"] >= 5
    html = client.get("/search?q=ヨルさん&fulltext=1").get_data(as_text=True)
    assert "月夜の郵便局" in html and "<mark>ヨルさん</mark>" in html
