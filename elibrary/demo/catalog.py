"""The demo collection: titles, collections, shelves and patrons. Every book, author and publisher is fictional.

ISBNs use the registrant prefixes 978-4-9999990 … 978-4-9999999 as a stand-in for a fictional publisher
(the check digits are valid, so they pass validation); ``demo_isbn(n)`` numbers them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from elibrary.catalog.isbn import make_isbn13
from elibrary.catalog.models import Audience, BookFormat
from elibrary.catalog.services import ContributorCredit, SubjectEntry, TitleData

SOURCE = "demo"


def demo_isbn(n: int) -> str:
    """The n-th demo ISBN-13 (n from 0 to 99)."""
    return make_isbn13(f"9784{9999990 + n // 10}{n % 10}")


@dataclass(frozen=True)
class DemoTitle:
    """One demo title: its record, how its cover looks, which book file (if any) is generated for it."""

    key: str  # stable id (``source_record_id``); also names the cover motif
    data: TitleData
    motif: str = "plain"  # cover decoration, see demo.covers
    book: str | None = None  # generator name in demo.books / demo.pdfs
    shelves: tuple[str, ...] = ()
    latin_title: str = ""  # drawn on the cover when no Japanese font is installed


def _c(*credits: tuple[str, str] | tuple[str, str, str]) -> tuple[ContributorCredit, ...]:
    return tuple(ContributorCredit(*credit) for credit in credits)


def _s(*terms: str | tuple[str, str]) -> tuple[SubjectEntry, ...]:
    return tuple(SubjectEntry(*t) if isinstance(t, tuple) else SubjectEntry(t) for t in terms)


def _t(key: str, title: str, reading: str, contributors, *, motif="plain", book=None, shelves=(), latin="", **fields) -> DemoTitle:
    return DemoTitle(
        key=key,
        data=TitleData(title=title, title_reading=reading, contributors=contributors, source=SOURCE, source_record_id=key, **fields),
        motif=motif,
        book=book,
        shelves=tuple(shelves),
        latin_title=latin,
    )


CHILDREN = dict(audience=Audience.children, collections=("children",))
FXL = dict(format=BookFormat.epub_fixed, page_progression="rtl")
PDF = dict(format=BookFormat.pdf)

_TITLES: tuple[DemoTitle, ...] = (
    _t("kuma-kasa", "くまくんのあかいかさ", "クマクン ノ アカイ カサ", _c(("森野こぐま", "モリノ コグマ"), ("森野こぐま", "モリノ コグマ", "ill")),
       motif="picture-book", book="picture_book", shelves=("this-month", "kids"), latin="Little Bear's Red Umbrella",
       publisher="そらまめ書房", published_on="2025-06-01", ndc="726.6", age_min=3, age_max=6, page_count=11,
       description="あめの日、あかいかさをひらいたくまくん。ことりやかえるさんといっしょに、のはらをあるきます。読み聞かせにぴったりのしかけのない絵本です。",
       subjects=_s(("絵本", "エホン"), ("雨", "アメ"), ("くま", "クマ")), accessibility=("alternativeText", "readAloud"), **CHILDREN, **FXL),
    _t("moon-post-1", "月夜の郵便局", "ツキヨ ノ ユウビンキョク", _c(("星川あかり", "ホシカワ アカリ"), ("岬ゆう", "ミサキ ユウ", "ill")),
       motif="moon", book="vertical_story", shelves=("this-month", "kids"), latin="The Moonlit Post Office",
       series_title="月夜の郵便局", series_reading="ツキヨ ノ ユウビンキョク", volume="1", page_progression="rtl",
       publisher="ほしぞら出版", published_on="2024-09-15", ndc="913.6", age_min=8, age_max=12, page_count=48,
       description="満月の夜の12時にだけ開く、うらの窓口。ねこのヨルさんが、月まで手紙を届けてくれます。総ルビの縦書きでお届けします。",
       subjects=_s(("童話", "ドウワ"), ("月", "ツキ"), ("手紙", "テガミ")), accessibility=("ruby", "tableOfContents", "displayTransformability"),
       **CHILDREN),
    _t("moon-post-2", "星のはがき", "ホシ ノ ハガキ", _c(("星川あかり", "ホシカワ アカリ"), ("岬ゆう", "ミサキ ユウ", "ill")),
       motif="stars", shelves=("kids",), latin="Starlight Postcards",
       series_title="月夜の郵便局", series_reading="ツキヨ ノ ユウビンキョク", volume="2", page_progression="rtl",
       publisher="ほしぞら出版", published_on="2025-03-15", ndc="913.6", age_min=8, age_max=12, page_count=52,
       description="ヨルさんのもとに届いた一枚のはがき。差出人は、流れ星でした。シリーズ第2巻。",
       subjects=_s(("童話", "ドウワ"), ("星", "ホシ")), accessibility=("ruby",), **CHILDREN),
    _t("moon-post-3", "雪の日の小包", "ユキ ノ ヒ ノ コヅツミ", _c(("星川あかり", "ホシカワ アカリ"), ("岬ゆう", "ミサキ ユウ", "ill")),
       motif="snow", latin="A Parcel on a Snowy Day",
       series_title="月夜の郵便局", series_reading="ツキヨ ノ ユウビンキョク", volume="3", page_progression="rtl",
       publisher="ほしぞら出版", published_on="2025-12-01", ndc="913.6", age_min=8, age_max=12, page_count=56,
       description="雪にとざされた町に、あて名のない小包がひとつ。ヨルさんとハルの冬の冒険。シリーズ第3巻。",
       subjects=_s(("童話", "ドウワ"), ("雪", "ユキ")), accessibility=("ruby",), **CHILDREN),
    _t("neko-pan", "ねこのパン屋さん", "ネコ ノ パンヤサン", _c(("たなかみどり", "タナカ ミドリ")),
       motif="bread", shelves=("kids",), latin="The Cat Bakery",
       publisher="そらまめ書房", published_on="2023-11-10", ndc="726.6", age_min=3, age_max=7, page_count=32,
       description="まちかどの小さなパン屋さん。店長はしろねこのミルク。朝いちばんのメロンパンは、だれのため?",
       subjects=_s(("絵本", "エホン"), ("ねこ", "ネコ"), ("パン", "パン")), **CHILDREN, **FXL),
    _t("kazoete", "かぞえてあそぼう 1から10", "カゾエテ アソボウ 1 カラ 10", _c(("数野いち", "カズノ イチ")),
       motif="numbers", shelves=("kids",), latin="Let's Count 1 to 10",
       publisher="そらまめ書房", published_on="2022-04-20", ndc="410", age_min=2, age_max=5, page_count=24,
       description="りんごがひとつ、みかんがふたつ。ページをめくりながら、1から10までかぞえてみましょう。",
       subjects=_s(("数", "カズ"), ("絵本", "エホン")), **CHILDREN, **FXL),
    _t("umi-ikimono", "海のいきもの大集合", "ウミ ノ イキモノ ダイシュウゴウ", _c(("潮見なぎさ", "シオミ ナギサ")),
       motif="waves", shelves=("kids", "study"), latin="Creatures of the Sea",
       publisher="青空社", published_on="2024-07-01", ndc="481.72", age_min=6, age_max=10, page_count=40,
       description="クラゲ、タコ、ジンベエザメ。海にすむいきものを大きな絵で紹介する図鑑絵本です。",
       subjects=_s(("海洋生物", "カイヨウ セイブツ"), ("図鑑", "ズカン")), accessibility=("alternativeText",), **CHILDREN, **FXL),
    _t("robota", "ロボットのロボ太", "ロボット ノ ロボタ", _c(("工藤ねじ", "クドウ ネジ")),
       motif="robot", shelves=("kids",), latin="Robota the Robot",
       publisher="青空社", published_on="2021-10-05", ndc="913.6", age_min=6, age_max=9, page_count=64,
       description="ネジが1本たりないロボットのロボ太は、なにをやってもちょっとおそい。でも、ゆっくりだから見えるものがあるのです。",
       subjects=_s(("童話", "ドウワ"), ("ロボット", "ロボット")), accessibility=("ruby",), **CHILDREN),
    _t("mushimegane", "ふしぎな虫めがね図鑑", "フシギナ ムシメガネ ズカン", _c(("草間ほたる", "クサマ ホタル", "sup")),
       motif="leaves", shelves=("kids", "study"), latin="The Magnifying Glass Guide to Insects",
       publisher="青空社", published_on="2023-05-20", ndc="486", age_min=8, age_max=12, page_count=96,
       description="虫めがねでのぞくと、いつもの虫がまるでちがって見える。身近な昆虫60種の観察ガイド。",
       subjects=_s(("昆虫", "コンチュウ"), ("観察", "カンサツ")), collections=("children", "school"),
       audience=Audience.children, **PDF),
    _t("seiza", "はじめての星座観察", "ハジメテ ノ セイザ カンサツ", _c(("天野すばる", "アマノ スバル")),
       motif="stars", shelves=("study",), latin="First Steps in Stargazing",
       publisher="ほしぞら出版", published_on="2022-12-01", ndc="443.8", age_min=9, age_max=14, page_count=80,
       description="季節ごとの星座の見つけ方を、星図とやさしい解説で。ベランダからはじめる星空観察。",
       subjects=_s(("星座", "セイザ"), ("天体観測", "テンタイ カンソク")), collections=("children", "school"), audience=Audience.children),
    _t("houkago", "放課後の天文部", "ホウカゴ ノ テンモンブ", _c(("高森颯", "タカモリ ハヤテ")),
       motif="telescope", shelves=("teens", "this-month"), latin="The After-School Astronomy Club",
       publisher="東雲社", published_on="2025-02-14", ndc="913.6", age_min=12, age_max=18, page_count=240,
       audience=Audience.ya, description="部員3人、望遠鏡1台。廃部寸前の天文部が、流星群の夜に挑む青春小説。",
       subjects=_s(("青春小説", "セイシュン ショウセツ"), ("天文", "テンモン"))),
    _t("hashire", "走れ、自転車少女", "ハシレ ジテンシャ ショウジョ", _c(("坂口りん", "サカグチ リン")),
       motif="road", shelves=("teens",), latin="Ride On, Cycling Girl",
       publisher="東雲社", published_on="2024-04-10", ndc="913.6", age_min=12, age_max=18, page_count=208,
       audience=Audience.ya, description="坂の町に引っ越してきた中学生のユイ。毎朝の通学路が、いつしかレースのコースになる。",
       subjects=_s(("青春小説", "セイシュン ショウセツ"), ("自転車", "ジテンシャ"))),
    _t("juyon", "十四歳の地図", "ジュウヨンサイ ノ チズ", _c(("遠野航", "トオノ ワタル")),
       motif="map", shelves=("teens",), latin="A Map at Fourteen",
       publisher="東雲社", published_on="2023-08-01", ndc="913.6", age_min=13, age_max=18, page_count=256,
       audience=Audience.ya, description="祖父の遺した手描きの地図をたよりに、夏休みの町を歩く。見知った町の、知らなかった顔。",
       subjects=_s(("青春小説", "セイシュン ショウセツ"), ("地図", "チズ"))),
    _t("python", "はじめてのプログラミング Python入門", "ハジメテ ノ プログラミング パイソン ニュウモン", _c(("三田ひかる", "ミタ ヒカル")),
       motif="grid", shelves=("teens", "study"), latin="Programming in Python for Beginners",
       publisher="青空社", published_on="2025-04-01", ndc="007.64", age_min=12, age_max=18, page_count=192,
       audience=Audience.ya, collections=("school",), description=("中高生のためのPython入門。じゃんけんゲームから天気データのグラフまで、"
                    "手を動かして学べます。"),
       subjects=_s(("プログラミング", "プログラミング"), ("Python", "パイソン"))),
    _t("hyakunin", "君と読む百人一首", "キミ ト ヨム ヒャクニン イッシュ", _c(("白石詠子", "シライシ エイコ")),
       motif="waves", shelves=("teens", "study"), latin="One Hundred Poets, Read Together",
       publisher="ほしぞら出版", published_on="2021-01-10", ndc="911.147", age_min=12, age_max=18, page_count=224,
       audience=Audience.ya, collections=("school",), description="百首すべてに現代語訳と、歌の背景をひとこと。競技かるたの決まり字つき。",
       subjects=_s(("百人一首", "ヒャクニン イッシュ"), ("和歌", "ワカ")), accessibility=("ruby",)),
    _t("lighthouse", "The Lighthouse Library", "ザ ライトハウス ライブラリー", _c(("Emma Hartley", "ハートリー エマ")),
       motif="lighthouse", book="lighthouse", shelves=("teens", "this-month"), latin="The Lighthouse Library",
       publisher="Soramame Press", published_on="2025-10-01", ndc="933.7", language="en", page_count=24, age_min=12,
       audience=Audience.ya, description="A retired lighthouse keeper fills her empty tower with books. A short story in English for young readers.",
       subjects=_s("English reading", ("灯台", "トウダイ")), accessibility=("tableOfContents", "displayTransformability")),
    _t("toshokan-machi", "図書館のある町", "トショカン ノ アル マチ", _c(("佐伯静", "サエキ シズカ")),
       motif="book", book="library_town", shelves=("staff-picks",), latin="A Town with a Library",
       publisher="東雲社", published_on="2020-11-03", ndc="010.4", page_count=32,
       description="引っ越し先は図書館で決める。朝の閲覧室、司書の沈黙、電子図書館。図書館のある暮らしをめぐるエッセイ。",
       subjects=_s(("図書館", "トショカン"), ("エッセイ", "エッセイ")), accessibility=("tableOfContents",)),
    _t("bousai", "市民のための防災ハンドブック", "シミン ノ タメ ノ ボウサイ ハンドブック", _c(("さくら市防災課", "サクラシ ボウサイカ", "edt")),
       motif="grid", book="handbook_pdf", shelves=("this-month",), latin="Disaster Preparedness Handbook",
       publisher="さくら市", published_on="2026-03-01", ndc="369.3", page_count=50, collections=("local",),
       description="地震・台風・大雨に備えるために。非常持ち出し品のチェックリスト、避難所の一覧、家族の連絡カードつき。",
       subjects=_s(("防災", "ボウサイ"), ("災害", "サイガイ")), **PDF),
    _t("dayori", "図書館だより 2026年春号", "トショカン ダヨリ 2026ネン ハルゴウ", _c(("さくら市立図書館", "サクラ シリツ トショカン", "edt")),
       motif="flowers", book="newsletter_pdf", latin="Library Newsletter, Spring 2026",
       publisher="さくら市立図書館", published_on="2026-04-01", ndc="016.2", page_count=4, collections=("local",),
       description="新着図書の紹介、春のおはなし会の予定、電子図書館の使い方。", subjects=_s(("図書館", "トショカン")), **PDF),
    _t("wagashi", "旅する和菓子", "タビスル ワガシ", _c(("栗原みつ", "クリハラ ミツ")),
       motif="circles", shelves=("staff-picks",), latin="Travelling Sweets",
       publisher="そらまめ書房", published_on="2023-03-03", ndc="596.65", page_count=160,
       description="北は函館から南は那覇まで。その土地でしか出会えない和菓子をたずねる、甘い旅の記録。",
       subjects=_s(("和菓子", "ワガシ"), ("紀行", "キコウ"))),
    _t("kyoto-roji", "京都 路地裏さんぽ", "キョウト ロジウラ サンポ", _c(("京野ちどり", "キョウノ チドリ")),
       motif="map", shelves=("staff-picks",), latin="Kyoto Back-Alley Walks",
       publisher="ほしぞら出版", published_on="2024-10-20", ndc="291.62", page_count=176,
       description="観光地から一本入った路地に、町の暮らしがある。地図と写真で歩く京都の路地裏12コース。",
       subjects=_s(("京都市", "キョウトシ"), ("散歩", "サンポ"))),
    _t("kakeibo", "やさしい家計簿のつけ方", "ヤサシイ カケイボ ノ ツケカタ", _c(("千葉かおる", "チバ カオル")),
       motif="grid", latin="Household Accounts Made Easy",
       publisher="青空社", published_on="2022-01-15", ndc="591.8", page_count=128,
       description="つづかない人のための家計簿入門。1日5分、レシートを貼るだけからはじめます。",
       subjects=_s(("家計", "カケイ"))),
    _t("edo-honya", "江戸の本屋さん", "エド ノ ホンヤサン", _c(("板倉文蔵", "イタクラ ブンゾウ")),
       motif="book", shelves=("staff-picks",), latin="Booksellers of Edo",
       publisher="東雲社", published_on="2019-06-30", ndc="023.1", page_count=272,
       description="貸本屋、地本問屋、草双紙。江戸の人びとはどうやって本を手に入れ、読んでいたのか。",
       subjects=_s(("出版", "シュッパン"), ("江戸時代", "エド ジダイ"))),
    _t("uchu-hate", "宇宙の果てを考える", "ウチュウ ノ ハテ ヲ カンガエル", _c(("北斗まこと", "ホクト マコト")),
       motif="stars", shelves=("this-month",), latin="Thinking about the Edge of the Universe",
       publisher="ほしぞら出版", published_on="2025-07-07", ndc="443.9", page_count=232,
       description="宇宙に果てはあるのか。138億年の歴史と観測の最前線を、数式を使わずに語る。",
       subjects=_s(("宇宙論", "ウチュウロン"))),
    _t("todaimori", "北の海の灯台守", "キタ ノ ウミ ノ トウダイモリ", _c(("霧島凪", "キリシマ ナギ")),
       motif="lighthouse", shelves=("this-month",), latin="The Lighthouse Keeper of the Northern Sea",
       publisher="東雲社", published_on="2024-01-20", ndc="913.6", page_count=312,
       description="最後の灯台守となった男と、流氷の町の人びとの三十年。静かな筆致でつづる長編小説。",
       subjects=_s(("小説", "ショウセツ"), ("灯台", "トウダイ"))),
    _t("yuki-mori", "雪の森の図書館", "ユキ ノ モリ ノ トショカン", _c(("アンナ・ベリ", "ベリ アンナ"), ("川村透", "カワムラ トオル", "trl")),
       motif="snow", shelves=("this-month", "staff-picks"), latin="The Library in the Snowy Forest",
       publisher="そらまめ書房", published_on="2025-11-11", ndc="949.83", page_count=288,
       description="スウェーデン北部、雪の森にぽつんと立つ移動図書館のバス。運転手と本を待つ人びとの一冬の物語。",
       subjects=_s(("小説", "ショウセツ"), ("図書館", "トショカン"))),
    _t("haiku", "はじめての俳句", "ハジメテ ノ ハイク", _c(("青葉蛙声", "アオバ アセイ")),
       motif="leaves", shelves=("staff-picks", "study"), latin="Haiku for Beginners",
       publisher="ほしぞら出版", published_on="2020-05-05", ndc="911.307", page_count=144, collections=("school",),
       description="五・七・五と季語のきほんから、句会の楽しみ方まで。例句と作り方のコツがいっぱい。",
       subjects=_s(("俳句", "ハイク")), accessibility=("ruby",)),
    _t("yasai", "野菜づくり12か月", "ヤサイズクリ 12カゲツ", _c(("畑中実", "ハタナカ ミノル")),
       motif="leaves", latin="Twelve Months of Vegetable Growing",
       publisher="青空社", published_on="2021-03-20", ndc="626.9", page_count=160,
       description="プランターでも畑でも。月ごとの作業カレンダーで、はじめてでも迷わない家庭菜園。",
       subjects=_s(("野菜栽培", "ヤサイ サイバイ"), ("家庭菜園", "カテイ サイエン"))),
    _t("mukashibanashi", "朗読で楽しむ日本の昔話", "ロウドク デ タノシム ニホン ノ ムカシバナシ", _c(("語り部の会", "カタリベ ノ カイ", "edt")),
       motif="mountain", shelves=("kids",), latin="Japanese Folk Tales to Read Aloud",
       publisher="そらまめ書房", published_on="2022-08-08", ndc="388.1", page_count=120, age_min=4, age_max=12,
       description="声に出して読みたい昔話を15編。読み上げ機能にも対応した、ゆったりした組版です。",
       subjects=_s(("昔話", "ムカシバナシ"), ("読み聞かせ", "ヨミキカセ")), accessibility=("readAloud", "ruby"), **CHILDREN),
    _t("taiso", "大活字版 やさしい健康体操", "ダイカツジバン ヤサシイ ケンコウ タイソウ", _c(("森本かずえ", "モリモト カズエ", "sup")),
       motif="circles", book="large_print_pdf", latin="Gentle Exercises (Large Print)",
       publisher="青空社", published_on="2023-09-15", ndc="781.4", page_count=8,
       description="いすに座ったままできる体操を、大きな文字と図で。毎日10分、からだをほぐしましょう。",
       subjects=_s(("体操", "タイソウ"), ("健康法", "ケンコウホウ")), accessibility=("largePrint",), **PDF),
    _t("kyodo", "郷土の歴史 さくら市のあゆみ", "キョウド ノ レキシ サクラシ ノ アユミ", _c(("さくら市教育委員会", "サクラシ キョウイク イインカイ", "edt")),
       motif="mountain", shelves=("study",), latin="A History of Sakura City",
       publisher="さくら市", published_on="2018-04-01", ndc="213.6", page_count=180, collections=("local", "school"),
       description="縄文の遺跡から宿場町、そして現在まで。小中学生の調べ学習にも使える、市の歴史のあゆみ。",
       subjects=_s(("さくら市", "サクラシ"), ("郷土史", "キョウドシ")), **PDF),
    _t("rika", "理科のふしぎ Q&A", "リカ ノ フシギ Q&A", _c(("光岡ゆかり", "ミツオカ ユカリ")),
       motif="circles", shelves=("study",), latin="Science Questions and Answers",
       publisher="青空社", published_on="2024-06-10", ndc="407", page_count=128, age_min=9, age_max=12,
       description="空はなぜ青い? 氷はなぜ水にうくの? 子どもたちの「なぜ」に、実験と図で答えます。",
       subjects=_s(("理科", "リカ"), ("実験", "ジッケン")), collections=("children", "school"), audience=Audience.children),
)

# ISBNs follow the list order, so titles are only ever appended.
TITLES: tuple[DemoTitle, ...] = tuple(
    dataclasses.replace(t, data=dataclasses.replace(t.data, isbn=demo_isbn(n))) for n, t in enumerate(_TITLES)
)


@dataclass(frozen=True)
class DemoShelf:
    """A curated shelf of the demo."""

    slug: str
    name: str
    name_en: str
    description: str = ""
    audience: str = ""


SHELVES = (
    DemoShelf("this-month", "今月の特集", "This month's feature", "雨の日、月の夜、灯台の光。ひかりとあかりの物語を集めました。"),
    DemoShelf("kids", "こどものへや", "Children's corner", "絵本、童話、図鑑。こどものための本だな。", "children"),
    DemoShelf("teens", "10代のための本棚", "For teens", "部活、進路、はじめての恋。10代に読んでほしい本。", "ya"),
    DemoShelf("staff-picks", "司書のおすすめ", "Librarians' picks", "図書館員が選んだ、ゆっくり読みたい本。"),
    DemoShelf("study", "調べ学習に", "For school projects", "自由研究や調べ学習に役立つ本。"),
)

COLLECTIONS = (
    ("children", "児童書", "Children's books"),
    ("school", "学校図書館", "School library"),
    ("local", "郷土資料", "Local studies"),
)


@dataclass(frozen=True)
class DemoPatron:
    """A local patron for trying the site out."""

    card: str
    pin: str
    category: str
    name: str = field(default="")


PATRONS = (
    DemoPatron("10000001", "1234", "citizen", "デモ 市民"),
    DemoPatron("20000001", "1234", "student", "デモ 生徒"),
)
