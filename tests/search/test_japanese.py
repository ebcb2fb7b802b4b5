"""Japanese behaviour: folding, readings, bigrams and unigrams, on every backend."""
from __future__ import annotations

import pytest

from elibrary.search import analysis
from elibrary.search.base import SearchQuery
from tests.search.conftest import CATALOG, doc


@pytest.fixture
def filled(backend):
    backend.upsert(CATALOG)
    return backend


def ids(backend, text, **kwargs):
    return sorted(backend.search(SearchQuery(text=text, **kwargs)).ids)


# -- normalisation (pure) --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ﾅﾂﾒ ｿｳｾｷ", "なつめ そうせき"),  # half-width katakana
        ("Ｐｙｔｈｏｎ", "python"),  # full-width Latin, case
        ("PYTHON", "python"),
        ("コンピューター", "こんぴゆた"),  # long-vowel mark dropped, small kana made large
        ("コンピュータ", "こんぴゆた"),
        ("ァィゥェォッャュョヮ", "あいうえおつやゆよわ"),
        ("ヴァイオリン", "ばいおりん"),
        ("ヴィ ヴ ヴェ ヴォ", "び ぶ べ ぼ"),
        ("國學澤邊齋髙﨑", "国学沢辺斎高崎"),
        ("廣瀨", "広瀬"),
        ("𠮷野", "吉野"),
        ("神", "神"),  # CJK compatibility ideograph (NFKC)
        ("１２３", "123"),
    ],
)
def test_normalize(raw, normalized):
    assert analysis.normalize(raw) == normalized


def test_old_kanji_table_is_large():
    folded = {ch for ch in map(chr, range(0x4E00, 0xA000)) if analysis.normalize(ch) != ch}
    assert len(folded) >= 200
    assert analysis.normalize("國") == "国" and analysis.normalize("国") == "国"


def test_tokens_mix_words_and_bigrams():
    assert analysis.tokens("Python入門 第3版") == ["python", "入門", "第", "3", "版"]
    assert analysis.tokens("夏目漱石") == ["夏目", "目漱", "漱石"]
    # No bigram crosses a space or punctuation.
    assert "目漱" not in analysis.tokens("夏目、漱石")
    assert analysis.tokens("猫") == ["猫"]
    assert analysis.tokens("NDC 913.6") == ["ndc", "913.6"]


def test_readings_are_indexed_with_and_without_spaces_and_in_romaji():
    toks = analysis.reading_tokens("ナツメ ソウセキ")
    assert "めそ" in toks  # only in the form without the space
    assert {"natsume", "souseki", "soseki", "natsumesouseki"} <= set(toks)


def test_isbn_query_accepts_hyphens_and_isbn10():
    assert analysis.isbn_query("978-4-10-101001-4") == "9784101010014"
    assert analysis.isbn_query("4-10-101001-5") == "9784101010014"
    assert analysis.isbn_query("4101010015") == "9784101010014"
    assert analysis.isbn_query("夏目") is None
    assert analysis.isbn_query("12345") is None


# -- behaviour on every backend --------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["なつめそうせき", "ナツメソウセキ", "なつめ そうせき", "ﾅﾂﾒ", "ナツメ", "natsume", "soseki", "夏目漱石", "漱石"])
def test_reading_and_name_queries_find_the_author(filled, query):
    assert ids(filled, query) == [1, 7]


@pytest.mark.parametrize("query", ["ねこ", "ネコ", "ﾈｺ"])
def test_title_reading_in_kana(filled, query):
    assert ids(filled, query) == [1, 2]


@pytest.mark.parametrize("query", ["国語", "國語"])
def test_old_and_new_kanji_forms_match(filled, query):
    assert ids(filled, query) == [3]


@pytest.mark.parametrize("query", ["斎藤", "齋藤", "さいとう"])
def test_name_variants(filled, query):
    assert ids(filled, query) == [3]


@pytest.mark.parametrize("query", ["コンピュータ", "コンピューター", "こんぴゅーた", "ｺﾝﾋﾟｭｰﾀｰ"])
def test_long_vowel_and_small_kana(filled, query):
    assert ids(filled, query) == [4]


@pytest.mark.parametrize("query", ["バイオリン", "ヴァイオリン", "ばいおりん"])
def test_vu_forms(filled, query):
    assert ids(filled, query) == [6]


def test_one_kanji_query_finds_it_inside_a_title(filled):
    assert ids(filled, "猫") == [1, 2]
    assert ids(filled, "務") == [2]  # inside 事務所, where no bigram starts with it alone


def test_two_kanji_word(filled):
    assert ids(filled, "歴史") == [3]
    assert ids(filled, "事務") == [2]


def test_description_is_searched(filled):
    assert ids(filled, "日本語") == [3]
    assert ids(filled, "先生") == [7]


@pytest.mark.parametrize("query", ["python", "Python", "PYTHON", "Ｐｙｔｈｏｎ", "librarians", "catalogue", "smith"])
def test_english_words_and_case(filled, query):
    assert ids(filled, query) == [5]


def test_english_words_are_whole_words(filled):
    assert ids(filled, "pyth") == []
    assert ids(filled, "practical guide") == [5]


@pytest.mark.parametrize("query", ["9784101010014", "978-4-10-101001-4", "978 4 10 101001 4", "4-10-101001-5"])
def test_isbn_with_and_without_hyphens(filled, query):
    assert ids(filled, query) == [1]


def test_ndc_and_publisher(filled):
    assert ids(filled, "913.6") == [1, 2, 7]
    assert ids(filled, "810") == [3]
    assert ids(filled, "新潮社") == [1]


def test_subject_and_series(backend):
    backend.upsert([doc(1, "星の本", subjects=("天文学",), series="こども科学シリーズ", series_reading="コドモ カガク シリーズ")])
    assert ids(backend, "天文") == [1]
    assert ids(backend, "科学シリーズ") == [1]
    assert ids(backend, "かがく") == [1]


def test_one_kanji_query_in_contributor_names(backend):
    backend.upsert([doc(1, "ある本", contributors=("森鷗外",)), doc(2, "別の本", contributors=("森田誠",))])
    assert ids(backend, "誠") == [2]
    assert ids(backend, "森") == [1, 2]


# -- what people type: names without the space, separators, particles as pronounced ------------------------
def test_name_tokens_bridge_the_separators():
    assert analysis.name_tokens("宮沢 賢治") == ["宮沢", "賢治", "沢賢"]
    assert "くか" in analysis.name_tokens("エリック・カール")  # えりつく|かる joined
    assert "んて" in analysis.name_tokens("サン＝テグジュペリ")
    assert "spiderman" in analysis.name_tokens("Spider-Man")
    assert analysis.name_tokens("夏目漱石") == analysis.tokens("夏目漱石")  # nothing to join


def test_particle_words_are_read_both_ways():
    assert analysis.particle_variant("ワガハイ ワ ネコ デ アル") == "わがはい は ねこ で ある"
    assert analysis.particle_variant("テブクロ オ カイ ニ") == "てぶくろ を かい に"
    assert analysis.particle_variant("イエ エ カエル ミチ") == "いえ へ かえる みち"
    # Only a kana standing alone is a particle: はし is never わし.
    assert analysis.particle_variant("ハシ") is None
    assert analysis.particle_variant("ワシ ノ ハナシ") is None
    toks = analysis.reading_tokens("ワガハイ ワ ネコ デ アル")
    assert {"いは", "はね", "いわ", "わね"} <= set(toks)
    assert "わし" not in analysis.reading_tokens("ハシ") and "はし" not in analysis.reading_tokens("ワシ")


def test_ogai_forms_fold():
    assert analysis.normalize("森鷗外") == analysis.normalize("森鴎外")


@pytest.mark.parametrize(
    ("query", "expected"),
    [("宮沢賢治", [2]), ("猫の事務所 宮沢賢治", [2]), ("ワガハイワネコデアル", [1]), ("わがはいはねこである", [1])],
)
def test_names_without_the_space_and_particles(backend, query, expected):
    backend.upsert([
        doc(1, "吾輩は猫である", title_reading="ワガハイ ワ ネコ デ アル", contributors=("夏目 漱石",)),
        doc(2, "猫の事務所", contributors=("宮沢 賢治",), contributor_readings=("ミヤザワ, ケンジ",)),
    ])
    assert ids(backend, query) == expected


@pytest.mark.parametrize("reading", [
    "ワガハイ ワ ネコ デ アル", "ミヤザワ, ケンジ", "ガッ コウ", "ア ッカ", "ヴァイ オリン ヴ", "ﾅﾂﾒ ｿｳｾｷ", "ｶﾞ゛ ｶ",
    "Ｐｙｔｈｏｎ ノ ABC", "ゔぁ  ぃ", "キャッ チャー", "コンピューター\u3000ニュウモン", "",
])
def test_readings_analysed_word_by_word_are_analysed_as_a_whole(reading):
    # A rebuild analyses the words of readings once each (they recur); the answer must be the whole text's.
    from jaconv import kana2alphabet

    kana = analysis.to_hiragana(reading).replace("ー", "")
    assert analysis._kana2alphabet(kana) == kana2alphabet(kana)
    for form in (reading, analysis.particle_variant(reading) or ""):
        assert analysis._spaced_tokens(form) == analysis.tokens(form)
