"""Japanese text analysis shared by every search backend, on the index side and the query side alike.

``normalize`` folds the ways one word is written: NFKC width folding (ﾅﾂﾒ, Ｐｙｔｈｏｎ), case folding,
katakana → hiragana, the long-vowel mark ー dropped (コンピューター = コンピュータ), small kana made large
(ァ → ア, ッ → ツ), ヴ-forms (ヴァ → バ) and old kanji forms (旧字体 → 新字体: 國 → 国, 澤 → 沢, 髙 → 高).

``tokens`` is the "mixed" analyzer (the best of those measured; docs/search.md): Latin and digit runs are whole
words; kanji/kana runs become overlapping bigrams inside the run (never across a space or punctuation);
a run of one character is kept as a unigram. Searching a word means requiring all of its tokens
(AND of bigrams, no positions).
"""
from __future__ import annotations

import functools
import re
import unicodedata

import jaconv
import joyokanji

# 旧字体 → 新字体: joyokanji's table (359 pairs of the 常用漢字表, plus 髙 﨑 𠮷) and the variants common in
# personal and place names that it leaves out. CJK compatibility ideographs (神, 福 ...) are folded by NFKC.
_NAME_VARIANTS = {
    "邉": "辺", "邊": "辺", "嶋": "島", "嶌": "島", "冨": "富", "峯": "峰", "濵": "浜", "濱": "浜",
    "舘": "館", "眞": "真", "曻": "昇", "瀨": "瀬", "桒": "桑", "埜": "野", "苅": "刈",
    "淵": "渕", "龍": "竜", "籠": "篭", "藪": "薮", "檜": "桧", "槇": "槙", "兔": "兎", "彥": "彦",
    "曾": "曽", "增": "増", "德": "徳", "惠": "恵", "晉": "晋", "敎": "教", "靑": "青",
    "淸": "清", "﨑": "崎", "髙": "高", "𠮷": "吉", "櫻": "桜", "齋": "斎",
    "齊": "斉", "鷗": "鴎", "澤": "沢", "國": "国", "學": "学", "萬": "万", "廣": "広", "藝": "芸", "當": "当",
}


def _kanji_table() -> dict[int, str]:
    # joyokanji's public API converts strings; convert every kanji once to read its table.
    table: dict[int, str] = {}
    for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF)):
        chars = "".join(map(chr, range(lo, hi + 1)))
        for old, new in zip(chars, joyokanji.convert(chars, variants=True), strict=False):
            if old != new:
                table[ord(old)] = new
    table.update((ord(old), new) for old, new in _NAME_VARIANTS.items())
    return table


# Katakana → hiragana (ァ..ヶ → ぁ..ゖ); ヷヸヹヺ have no hiragana and are spelt out.
_KANA = {cp: chr(cp - 0x60) for cp in range(ord("ァ"), ord("ヶ") + 1)}
_KANA.update({ord("ヷ"): "わ", ord("ヸ"): "い", ord("ヹ"): "え", ord("ヺ"): "を", ord("ヽ"): "ゝ", ord("ヾ"): "ゞ"})
_FOLD_TABLE = {**_kanji_table(), **_KANA}  # one pass: old kanji forms and katakana

# ヴ-forms as they are usually written without ヴ (after katakana → hiragana, ヴ is ゔ).
_VU_FORMS = (("ゔぁ", "ば"), ("ゔぃ", "び"), ("ゔぇ", "べ"), ("ゔぉ", "ぼ"), ("ゔゅ", "びゅ"), ("ゔ", "ぶ"))
# Small kana made large, and the long-vowel mark dropped (－/〜 are used the same way in readings).
_SMALL_AND_LONG = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ", "ー－〜～")


def to_hiragana(text: str) -> str:
    """Width-folded, case-folded text with katakana turned into hiragana (small kana and ー kept)."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD_TABLE)


# Both tables in one pass, for text without ヴ (whose forms must be read before small kana become large).
_ONE_PASS = {cp: new.translate(_SMALL_AND_LONG) for cp, new in _FOLD_TABLE.items()}
_ONE_PASS.update((cp, new) for cp, new in _SMALL_AND_LONG.items() if cp not in _ONE_PASS)


def clean_query(value: str) -> str:
    """Query text as a page may show it: NFC, control, format, surrogate and private-use characters dropped,
    runs of white space folded to one space (a NUL or a lone surrogate cannot be put in XML or JSON)."""
    value = "".join(ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    return " ".join(value.split())


def normalize(text: str) -> str:
    """The one normalisation applied to indexed text and to queries."""
    if text.isascii():
        return text.lower()  # NFKC and the kana/kanji tables change no ASCII character
    text = unicodedata.normalize("NFKC", text).casefold()
    if "ヴ" not in text and "ゔ" not in text:
        return text.translate(_ONE_PASS)
    text = text.translate(_FOLD_TABLE)
    for old, new in _VU_FORMS:
        text = text.replace(old, new)
    return text.translate(_SMALL_AND_LONG)


_CJK = "\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff々〆〇"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# A run is a kanji/kana run, or a word of letters and digits ("913.6" and "don't" stay one word).
_LETTER = f"(?:(?![{_CJK}])[^\\W_])"
_RUN = re.compile(f"[{_CJK}]+|{_LETTER}+(?:[.']{_LETTER}+)*")


def _is_cjk(ch: str) -> bool:
    return _CJK_CHAR.match(ch) is not None


CJK_RANGES = _CJK  # for a regular expression's character class
is_cjk = _is_cjk


def runs(normalized: str) -> list[str]:
    """Split normalised text into kanji/kana runs and Latin/digit words (separators dropped)."""
    return _RUN.findall(normalized)


def run_tokens(run: str) -> list[str]:
    """Tokens of one run: the whole word, or overlapping bigrams of a kanji/kana run (a unigram if alone)."""
    if not _is_cjk(run[0]) or len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


# ``_RUN`` with the kanji/kana run and the word in separate groups, so ``tokens`` need not test each run.
_RUN_KIND = re.compile(f"([{_CJK}]+)|({_LETTER}+(?:[.']{_LETTER}+)*)")


def tokens(text: str) -> list[str]:
    """Index tokens of ``text`` (normalised here), in order, duplicates kept (``run_tokens`` of each run)."""
    out: list[str] = []
    for cjk, word in _RUN_KIND.findall(normalize(text)):
        if len(cjk) > 1:
            out += map(str.__add__, cjk[:-1], cjk[1:])  # overlapping bigrams
        else:
            out.append(cjk or word)
    return out


_KANJI_CHAR = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff々〆〇]")


def unigrams(text: str) -> list[str]:
    """Every kanji of ``text`` once, for one-kanji queries (猫) over short fields; lone kana mean little."""
    return list(dict.fromkeys(_KANJI_CHAR.findall(normalize(text))))


# What separates the parts of a name or title as catalogs write it and people leave out when they type:
# white space (full-width too, after NFKC), middle dots (・ ･ ·), the equals signs of NDL and ONIX
# (= ＝ ゠), hyphens and dashes, and the punctuation inside titles (パパ、お月さまとって！).
# 宮沢 賢治 and エリック・カール are typed 宮沢賢治 and エリックカール.
_SEPARATORS = re.compile(r"[\s・·•=゠\-‐‑‒–—―_/、。,，!?:;「」『』()【】\[\]〈〉《》〔〕…‥]+")


_MARKS = re.compile(_SEPARATORS.pattern.replace("\\s", ""))  # the separators but white space


def joined(text: str) -> str:
    """``text`` with the separators between its parts removed (after NFKC)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def name_tokens(text: str) -> list[str]:
    """Tokens of a name or title as written and as typed without its separators (宮沢 賢治 → 沢賢 too).

    The joined forms only add the tokens that bridge a separator, so a query typed with the space
    still matches word by word, and one typed without it matches all of its bigrams. Latin words are
    also joined across marks but not spaces (Spider-Man: spiderman), as people type them.
    """
    as_written = tokens(text)
    plain = joined(text)
    if plain == text or not plain:
        return as_written
    return list(dict.fromkeys(as_written + tokens(plain) + tokens(_MARKS.sub("", unicodedata.normalize("NFKC", text)))))


# Whole-phrase tokens rank a title whose whole title (or reading) is the query, or whose contributor's
# whole name or one part of it is, above titles that merely contain it (はし: 橋 before 箸の歴史). The
# mark never occurs in other tokens, which are made of letters, digits, kanji and kana only.
EXACT = "="


def exact_key(text: str) -> str:
    """The whole-phrase token of a text: normalised, without separators ("" for none)."""
    key = normalize(joined(text))
    return EXACT + key if key else ""


@functools.lru_cache(maxsize=8192)
def exact_name_tokens(name: str) -> tuple[str, ...]:
    """Whole-phrase tokens of a name or name reading: the whole, and each part (宮沢 賢治: 宮沢賢治, 宮沢, 賢治)."""
    parts = [name, *_SEPARATORS.split(unicodedata.normalize("NFKC", name).replace(",", " "))]
    return tuple(dict.fromkeys(k for k in map(_part_key, parts) if k))


@functools.lru_cache(maxsize=65536)
def _part_key(part: str) -> str:
    return exact_key(part)  # the parts of names (family and given names) recur across a catalog


def exact_reading_tokens(reading: str) -> list[str]:
    """Whole-phrase tokens of a title reading, particles both ways."""
    variant = particle_variant(reading)
    return [k for k in dict.fromkeys([exact_key(reading), exact_key(variant or "")]) if k]


# Strings that repeat across a catalog (names, publishers, subjects, series, NDC classes) are analysed
# once: a rebuild of 100k titles meets each of them hundreds of times. Unique text (titles,
# descriptions) goes through the uncached functions, so the caches hold only what is reused.
_CACHE_SIZE = 16384


@functools.lru_cache(maxsize=_CACHE_SIZE)
def cached_tokens(text: str) -> tuple[str, ...]:
    """``tokens(text)`` for a string that recurs (a name, a publisher, a subject heading)."""
    return tuple(tokens(text)) if text else ()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def cached_name_tokens(text: str) -> tuple[str, ...]:
    """``name_tokens(text)`` for a string that recurs (a contributor's name, a series)."""
    return tuple(name_tokens(text)) if text else ()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def cached_unigrams(text: str) -> tuple[str, ...]:
    """``unigrams(text)`` for a string that recurs."""
    return tuple(unigrams(text)) if text else ()


def is_single_cjk(run: str) -> bool:
    """A one-character kanji/kana run: searched as a unigram."""
    return len(run) == 1 and _is_cjk(run)


def romaji(reading: str) -> list[str]:
    """Hepburn-ish romaji words of a kana reading, plus the forms typed without long vowels (soseki)."""
    kana = to_hiragana(reading).replace("ー", "")
    words = [w for w in re.split(r"[^a-z]+", _kana2alphabet(kana)) if w]
    if not words:
        return []
    forms = [*words, "".join(words)] if len(words) > 1 else words
    short = [re.sub(r"ou|oo", "o", re.sub(r"uu", "u", w)) for w in forms]
    return list(dict.fromkeys(forms + short))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _word_kana2alphabet(word: str) -> str:
    return jaconv.kana2alphabet(word)


def _kana2alphabet(kana: str) -> str:
    """``jaconv.kana2alphabet``, converted space-separated word by word: the words of readings recur across a
    catalog. Its rules never look past a space, except for a っ at a word's edge: such text is converted whole."""
    words = kana.split(" ")
    if any(w[:1] == "っ" or w[-1:] == "っ" for w in words):
        return jaconv.kana2alphabet(kana)
    return " ".join(map(_word_kana2alphabet, words))


@functools.lru_cache(maxsize=4 * _CACHE_SIZE)
def _word_tokens(word: str) -> tuple[str, ...]:
    return tuple(tokens(word))


def _spaced_tokens(text: str) -> list[str]:
    """``tokens(text)``, word by word (cached): no run crosses white space, and the normalisation never joins
    characters across it."""
    return [t for word in text.split() for t in _word_tokens(word)]


# NDL writes the particles は, へ and を as pronounced (ワ, エ, オ), as words of their own: ワガハイ ワ ネコ
# デ アル. People type them as written (わがはいはねこである), and some catalogs store them so too.
_PARTICLES = {"わ": "は", "は": "わ", "え": "へ", "へ": "え", "お": "を", "を": "お"}


def particle_variant(reading: str) -> str | None:
    """The normalised reading with its one-kana particle words spelt the other way, or None if it has none.

    Only a kana standing alone as a word is a particle: はし is never read as わし.
    """
    words = normalize(reading).split()
    if len(words) < 2 or not any(w in _PARTICLES for w in words):
        return None
    return " ".join(_PARTICLES.get(w, w) for w in words)


@functools.lru_cache(maxsize=8192)
def reading_tokens(reading: str) -> tuple[str, ...]:
    """Tokens of a reading as written (ナツメ ソウセキ), without spaces (なつめそうせき), and in romaji.

    A reading with particle words also gives the tokens of its ``particle_variant``, spaced and joined:
    the bigrams are matched without positions, so a query mixing both spellings matches too.
    """
    if not reading.strip():
        return ()
    forms = [reading]
    variant = particle_variant(reading)
    if variant:
        forms.append(variant)
    out: list[str] = []
    for form in forms:
        out += _spaced_tokens(form) + tokens(re.sub(r"[\s・=＝゠,、]+", "", form))
    return tuple(dict.fromkeys(out + romaji(reading)))


def sort_key(reading: str) -> str:
    """Key for 五十音順 (gojūon order) of a reading: hiragana with voicing marks kept, spaces removed."""
    return re.sub(r"\s+", "", normalize(reading))


_ISBN_CHARS = re.compile(r"[\s\-‐–—]")


def isbn_query(word: str) -> str | None:
    """The 13 digits an ISBN-looking query word stands for (hyphens allowed, ISBN-10 converted), or None."""
    compact = _ISBN_CHARS.sub("", unicodedata.normalize("NFKC", word)).upper()
    if re.fullmatch(r"\d{13}", compact):
        return compact
    if re.fullmatch(r"\d{9}[\dX]", compact):
        core = "978" + compact[:9]
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core)) % 10) % 10
        return core + str(check)
    return None


_ISBN_SPAN = re.compile(r"(?<![\dA-Za-z])(?:97[89][\s\-‐–—]*)?\d(?:[\s\-‐–—]*\d){8}[\s\-‐–—]*[\dXx](?![\dA-Za-z])")


_ISBN_LABEL = re.compile(r"(?i)\bisbn(?:-1[03])?[:\s]*")


def compact_isbns(text: str) -> str:
    """ISBN-shaped digit groups written with hyphens or spaces ("978 4 10 101001 4") joined into one word."""
    text = _ISBN_LABEL.sub(" ", unicodedata.normalize("NFKC", text))
    return _ISBN_SPAN.sub(lambda m: _ISBN_CHARS.sub("", m.group()), text)


def isbn_tokens(isbn: str) -> list[str]:
    """The ISBN as indexed: 13 digits (queries with hyphens are compacted by ``isbn_query``)."""
    digits = isbn_query(isbn) if isbn else None
    return [digits] if digits else []


@functools.lru_cache(maxsize=4096)
def cached_ndc_tokens(ndc: str) -> tuple[str, ...]:
    """``ndc_tokens`` of a class number (a catalog has a few thousand of them at most)."""
    return tuple(ndc_tokens(ndc))


def ndc_tokens(ndc: str) -> list[str]:
    """An NDC class as words: "913.6" is found by 913.6 and by 913."""
    ndc = normalize(ndc).strip()
    if not ndc:
        return []
    whole = ndc.split(".")[0]
    return list(dict.fromkeys([ndc, whole]))
