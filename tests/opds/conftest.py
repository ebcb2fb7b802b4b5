"""A small committed catalog with licences and patrons for the OPDS tests (requests run in their own sessions)."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date

import pytest
from PIL import Image

from elibrary.catalog.covers import set_cover
from elibrary.catalog.files import attach_book_file
from elibrary.catalog.services import ContributorCredit, SubjectEntry, withdraw_title
from elibrary.catalog.shelves import add_to_shelf, create_shelf
from elibrary.lending.services import add_license
from elibrary.patrons.services import add_local_patron
from tests.catalog.factories import make_title

PATRON = ("1001", "pin-1001")
OTHER_PATRON = ("1002", "pin-1002")


@pytest.fixture
def app_config(app_config):
    """No caching of feed counts: tests change the catalog between requests."""
    return {**app_config, "ELIBRARY_OPDS_COUNT_SECONDS": 0, "ELIBRARY_OPDS_FEED_CACHE_SECONDS": 0}


def minimal_epub(title: str) -> bytes:
    """A tiny valid EPUB 3."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        z.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:1</dc:identifier><dc:title>{title}</dc:title>'
            '<dc:language>ja</dc:language><meta property="dcterms:modified">2026-01-01T00:00:00Z</meta></metadata>'
            '<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/></manifest>'
            '<spine><itemref idref="nav"/></spine></package>',
        )
        z.writestr(
            "OEBPS/nav.xhtml",
            '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
            f'<head><title>{title}</title></head><body><nav epub:type="toc"><ol><li><a href="nav.xhtml">{title}</a></li></ol></nav></body></html>',
        )
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 420), "#336699").save(out, "JPEG")
    return out.getvalue()


@dataclass
class Catalog:
    """Ids of the titles the tests talk about."""

    open: int = 0  # open licence, EPUB, cover: anyone downloads
    one_copy: int = 0  # one copy, DRM-free download allowed
    children: int = 0  # one copy, children's
    concurrent: int = 0  # YA, three copies
    unlicensed: int = 0  # PDF, no licence
    english: int = 0
    withdrawn: int = 0
    shelf_slug: str = "natsume"
    ids: list[int] = field(default_factory=list)


@pytest.fixture
def catalog(rt) -> Catalog:
    """Seven titles, a shelf and two local patrons, committed."""
    ids = Catalog()
    with rt.db.scope() as session:
        cat = make_title(
            session,
            title="吾輩は猫である",
            title_reading="ワガハイ ハ ネコ デアル",
            publisher="青空文庫",
            published_on=date(1905, 1, 1),
            ndc="913.6",
            description="中学校の英語教師の家に飼われる猫が、人間たちを観察する。<b>太字</b>ではない。",
            contributors=(ContributorCredit("夏目漱石", "ナツメ ソウセキ"), ContributorCredit("挿絵太郎", "サシエ タロウ", "ill")),
            subjects=(SubjectEntry("猫", "ネコ", "ndlsh"), "ユーモア"),
        )
        set_cover(session, rt.storage, cat, io.BytesIO(jpeg_bytes()))
        attach_book_file(session, rt.storage, cat, io.BytesIO(minimal_epub("吾輩は猫である")), "application/epub+zip")
        add_license(session, cat.id, "open")
        kokoro = make_title(session, title="こころ", title_reading="ココロ", ndc="913.6", contributors=(ContributorCredit("夏目漱石", "ナツメ ソウセキ"),))
        attach_book_file(session, rt.storage, kokoro, io.BytesIO(minimal_epub("こころ")), "application/epub+zip")
        add_license(session, kokoro.id, "one-copy", copies=1, drm_free_download=True)
        ginga = make_title(session, title="銀河鉄道の夜", title_reading="ギンガ テツドウ ノ ヨル", audience="children", ndc="913.6",
                           contributors=(ContributorCredit("宮沢賢治", "ミヤザワ ケンジ"),))
        attach_book_file(session, rt.storage, ginga, io.BytesIO(minimal_epub("銀河鉄道の夜")), "application/epub+zip")
        add_license(session, ginga.id, "one-copy", copies=1)
        ya = make_title(session, title="夏の庭", title_reading="ナツ ノ ニワ", audience="ya", ndc="913.6",
                        contributors=(ContributorCredit("湯本香樹実", "ユモト カズミ"),))
        attach_book_file(session, rt.storage, ya, io.BytesIO(minimal_epub("夏の庭")), "application/epub+zip")
        add_license(session, ya.id, "concurrent", copies=3)
        pdf = make_title(session, title="図書館の自由に関する宣言", title_reading="トショカン ノ ジユウ ニ カンスル センゲン", ndc="010.1",
                         format="pdf", isbn=None)
        english = make_title(session, title="Botchan", title_reading="ボッチャン", language="en", ndc="913.6",
                             contributors=(ContributorCredit("Natsume Soseki", ""),))
        add_license(session, english.id, "open")
        gone = make_title(session, title="除籍された本", title_reading="ジョセキ サレタ ホン")
        withdraw_title(session, gone)
        shelf = create_shelf(session, "natsume", "夏目漱石特集", name_en="Natsume Soseki", description="漱石の名作")
        add_to_shelf(session, shelf, kokoro)
        add_to_shelf(session, shelf, cat)
        add_local_patron(session, rt.cipher, PATRON[0], PATRON[1])
        add_local_patron(session, rt.cipher, OTHER_PATRON[0], OTHER_PATRON[1])
        session.flush()
        ids.open, ids.one_copy, ids.children, ids.concurrent = cat.id, kokoro.id, ginga.id, ya.id
        ids.unlicensed, ids.english, ids.withdrawn = pdf.id, english.id, gone.id
        ids.ids = [cat.id, kokoro.id, ginga.id, ya.id, pdf.id, english.id]
    return ids


def basic(credentials: tuple[str, str] = PATRON) -> dict:
    """HTTP Basic header for a card number and PIN."""
    import base64

    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
