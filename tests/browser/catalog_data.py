"""A small committed catalog for browser tests: varied titles, some covers drawn with Pillow, shelves."""
from __future__ import annotations

import io
from datetime import date

from PIL import Image, ImageDraw

from elibrary.catalog.covers import set_cover
from elibrary.catalog.models import Audience, BookFormat
from elibrary.catalog.services import ContributorCredit, SubjectEntry
from elibrary.catalog.shelves import add_to_shelf, create_shelf
from tests.catalog.factories import make_title

BOOKS = [
    ("吾輩は猫である", "ワガハイ ワ ネコ デ アル", "夏目漱石", "ナツメ ソウセキ", "913.6", Audience.general, BookFormat.epub_reflowable, "ja"),
    ("こころ", "ココロ", "夏目漱石", "ナツメ ソウセキ", "913.6", Audience.general, BookFormat.epub_reflowable, "ja"),
    ("銀河鉄道の夜", "ギンガ テツドウ ノ ヨル", "宮沢賢治", "ミヤザワ ケンジ", "913.6", Audience.ya, BookFormat.epub_reflowable, "ja"),
    ("くまのおさんぽ", "クマ ノ オサンポ", "やまだ はなこ", "ヤマダ ハナコ", "726.6", Audience.children, BookFormat.epub_fixed, "ja"),
    ("ほしぞらのうた", "ホシゾラ ノ ウタ", "すずき いちろう", "スズキ イチロウ", "726.6", Audience.children, BookFormat.epub_fixed, "ja"),
    ("はじめてのプログラミング", "ハジメテ ノ プログラミング", "田中一郎", "タナカ イチロウ", "007.64", Audience.children, BookFormat.epub_reflowable, "ja"),
    ("図書館のしごと", "トショカン ノ シゴト", "佐藤明子", "サトウ アキコ", "010", Audience.general, BookFormat.pdf, "ja"),
    ("Alice's Adventures in Wonderland", "", "Lewis Carroll", "", "933", Audience.children, BookFormat.epub_reflowable, "en"),
    ("日本の歴史", "ニホン ノ レキシ", "歴史研究会", "レキシ ケンキュウカイ", "210", Audience.ya, BookFormat.epub_reflowable, "ja"),
    ("やさしい宇宙のはなし", "ヤサシイ ウチュウ ノ ハナシ", "星野光", "ホシノ ヒカル", "440", Audience.children, BookFormat.epub_reflowable, "ja"),
    ("まちの地図をつくろう", "マチ ノ チズ オ ツクロウ", "地図の会", "チズ ノ カイ", "290", Audience.children, BookFormat.epub_fixed, "ja"),
    ("はじめての家庭菜園", "ハジメテ ノ カテイ サイエン", "農園太郎", "ノウエン タロウ", "626", Audience.general, BookFormat.pdf, "ja"),
]
COLOURS = ["#c0392b", "#2e86c1", "#27ae60", "#f39c12", "#8e44ad", "#16a085", "#d35400"]


def cover_png(index: int) -> bytes:
    """A simple 400×600 cover: a coloured ground with a sun and hills (no text, no font needed)."""
    image = Image.new("RGB", (400, 600), COLOURS[index % len(COLOURS)])
    draw = ImageDraw.Draw(image)
    draw.ellipse((240, 60, 340, 160), fill="#fff3b0")
    draw.polygon([(0, 600), (0, 420), (160, 330), (320, 430), (400, 380), (400, 600)], fill="#fbfaf7")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed_catalog(rt, *, covers: bool = True) -> dict[str, int]:
    """Commit the sample catalog; returns ``{title: id}``."""
    ids: dict[str, int] = {}
    with rt.db.scope() as session:
        for i, (title, reading, name, name_reading, ndc, audience, fmt, language) in enumerate(BOOKS):
            record = make_title(
                session, title=title, title_reading=reading, ndc=ndc, audience=audience, format=fmt, language=language,
                contributors=(ContributorCredit(name, name_reading),), publisher="みどり出版",
                published_on=date(2020 + i % 5, 1 + i % 12, 1), age_min=5 if audience == Audience.children else None,
                age_max=9 if audience == Audience.children else None,
                description=f"{title}の内容紹介です。\n二行目の説明。\n\n新しい段落。",
                subjects=(SubjectEntry("読書"), SubjectEntry("日本")), accessibility=("readAloud",) if i % 3 == 0 else (),
                series_title="日本の歴史" if title == "日本の歴史" else "", volume="第1巻" if title == "日本の歴史" else "",
            )
            if covers and i % 4 != 3:  # every fourth title keeps the generated placeholder
                set_cover(session, rt.storage, record, io.BytesIO(cover_png(i)))
            ids[title] = record.id
        shelf = create_shelf(session, "recommended", "司書のおすすめ", name_en="Librarians' picks", description="今月のおすすめです。")
        for title in ("こころ", "銀河鉄道の夜", "図書館のしごと"):
            add_to_shelf(session, shelf, session.get(type(record), ids[title]))
        kids = create_shelf(session, "picture-books", "えほんのたな", name_en="Picture books", audience="children")
        for title in ("くまのおさんぽ", "ほしぞらのうた", "まちの地図をつくろう"):
            add_to_shelf(session, kids, session.get(type(record), ids[title]))
    return ids
