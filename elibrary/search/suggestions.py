"""もしかして ("did you mean"): other queries, close to one that found nothing, that do find titles.

Every backend answers ``suggest`` with this module's rules, so the contract tests hold them to the same
suggestions; a backend only supplies what it knows (a ``Lexicon``): whether a word finds anything, the
titles and names of the documents sharing most of a word's tokens, and the words of its titles and names
that start with a prefix.

A query is corrected word by word: a word that finds something stays; one that finds nothing is
replaced by the closest title or name (compared as typed without separators, in kana folded as the index
folds it, by ``difflib``'s ratio) among the documents that share most of its bigrams and kanji, or, for
a Latin word, by the closest word of the titles and names with its first two letters; a word like nothing
in the catalog is left out. When every word finds something but not all of them together (村上春樹
限りなく透明に近いブルー: the novel is 村上龍's), the suggestions are the largest parts of the query that
do, the most specific first. A suggestion is offered only if it finds something itself.
"""
from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable
from typing import Protocol

from elibrary.search import analysis
from elibrary.search.base import SearchDocument

CANDIDATES = 50  # documents whose titles and names are compared with a word
MIN_PHRASE_RATIO = 0.6
MIN_TERM_RATIO = 0.75
MAX_WORDS = 6
MAX_PART_LOOKUPS = 20  # queries tried when looking for the part of a query that finds something
MAX_WORD_LENGTH = 40
MAX_TERMS = 2000  # words with a prefix looked at, for a Latin word
COMMON = 5_000  # a token in more documents than this does not tell candidates apart: not looked up
MAX_TOKENS = 24  # tokens a word is looked up by (its bigrams first): bounds the cost of a long word
PER_WORD = 3  # alternatives per word combined into suggestions
SUGGEST_FIELDS = ("title", "author", "uni")

Phrase = tuple[str, str]  # (as shown, its reading or "")

_CJK_SPACE = re.compile(f"(?<=[{analysis.CJK_RANGES}])\\s+(?=[{analysis.CJK_RANGES}])")


class Lexicon(Protocol):
    """What a backend tells the suggester."""

    def finds(self, text: str) -> bool:
        """Whether ``text`` as a query finds any title."""

    def candidate_phrases(self, tokens: list[str], limit: int) -> list[Phrase]:
        """Titles and names of the ``limit`` documents having most of ``tokens`` in ``SUGGEST_FIELDS`` (ties: lowest id)."""

    def terms(self, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct tokens of the title and author fields starting with ``prefix``, in order."""


def shown_name(name: str) -> str:
    """A name as a suggestion shows it: 宮沢 賢治 → 宮沢賢治 (as people type it); エリック・カール, Jane Smith kept."""
    return _CJK_SPACE.sub("", " ".join(name.split()))


def phrases(doc: SearchDocument) -> list[Phrase]:
    """The titles and names of a document a suggestion may offer, with their readings where known."""
    readings = doc.contributor_readings if len(doc.contributor_readings) == len(doc.contributors) else ("",) * len(doc.contributors)
    pairs = [(" ".join(doc.title.split()), doc.title_reading), (" ".join(doc.series.split()), doc.series_reading)]
    pairs += [(shown_name(name), reading) for name, reading in zip(doc.contributors, readings, strict=False)]
    return list(dict.fromkeys((text, reading) for text, reading in pairs if text))


def encode(pairs: Iterable[Phrase]) -> str:
    """Phrases as one stored string (tabs and newlines cannot occur in a shown phrase)."""
    return "\n".join(f"{text}\t{reading}" for text, reading in pairs)


def decode(stored: str) -> list[Phrase]:
    """The phrases of ``encode``."""
    return [tuple(line.split("\t", 1)) for line in stored.split("\n") if "\t" in line]  # type: ignore[misc]


def _key(text: str) -> str:
    return analysis.normalize(analysis.joined(text))


def word_tokens(word: str) -> list[str]:
    """The tokens a word is looked up by: bigrams of its kanji/kana as typed without separators, and its kanji."""
    key = _key(word)
    return list(dict.fromkeys(analysis.tokens(key) + analysis.unigrams(key)))[:MAX_TOKENS]


def _is_latin(word: str) -> bool:
    return all(not analysis.is_cjk(ch) for ch in analysis.normalize(word))


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def alternatives(lexicon: Lexicon, word: str) -> list[tuple[float, str]]:
    """(closeness, replacement) for a word that finds nothing, best first (at most ``PER_WORD``)."""
    key = _key(word)
    if len(key) < 2:
        return []
    scored: dict[str, float] = {}
    if _is_latin(word):
        for term in lexicon.terms(key[:2], MAX_TERMS):
            if term != key and (r := _ratio(key, term)) >= MIN_TERM_RATIO:
                scored[term] = max(r, scored.get(term, 0.0))
    else:
        for text, reading in lexicon.candidate_phrases(word_tokens(word), CANDIDATES):
            r = max(_ratio(key, _key(text)), _ratio(key, _key(reading)) if reading else 0.0)
            if r >= MIN_PHRASE_RATIO and _key(text) != key:
                scored[text] = max(r, scored.get(text, 0.0))
    best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:PER_WORD]
    return [(r, text) for text, r in best]


def suggest(lexicon: Lexicon, text: str, limit: int = 3) -> list[str]:
    """Up to ``limit`` corrected queries that find titles, best first; [] when the query needs none or has none."""
    words = analysis.clean_query(text or "").split()
    if not words or len(words) > MAX_WORDS or limit <= 0:
        return []
    choices: list[list[tuple[float, str]]] = []
    for word in words:
        if len(word) > MAX_WORD_LENGTH:
            return []
        if lexicon.finds(word):
            choices.append([(1.0, word)])
        elif found := alternatives(lexicon, word):
            choices.append(found)
        # a word that finds nothing and resembles nothing the catalog has is left out (猫 xyzzy → 猫)
    if not choices:
        return []
    if all(len(c) == 1 and c[0][0] == 1.0 for c in choices):  # nothing to correct word by word
        kept = [c[0][1] for c in choices]
        if lexicon.finds(" ".join(kept)):
            return [" ".join(kept)] if len(kept) < len(words) else []
        return _parts_that_find(lexicon, kept, limit)
    combos = sorted(itertools.product(*choices), key=lambda combo: (-sum(r for r, _ in combo), [t for _, t in combo]))
    out: list[str] = []
    seen = {_key(" ".join(words))}  # 宮沢賢治 and 宮澤賢治 are one query to the index: offer the first
    for combo in combos:
        query = " ".join(t for _, t in combo)
        if _key(query) not in seen and lexicon.finds(query):
            seen.add(_key(query))
            out.append(query)
            if len(out) == limit:
                break
    return out


def _parts_that_find(lexicon: Lexicon, words: list[str], limit: int) -> list[str]:
    """The largest parts of a query that finds nothing (its words in their order, some left out) that find something.

    Each word finds something alone; the most specific parts (the longest) come first.
    """
    lookups = 0
    for size in range(len(words) - 1, 0, -1):
        found: list[str] = []
        for part in itertools.combinations(words, size):
            query = " ".join(part)
            if size == 1:
                found.append(query)  # each word was found alone above
                continue
            if lookups == MAX_PART_LOOKUPS:
                return []
            lookups += 1
            if lexicon.finds(query):
                found.append(query)
        if found:
            unique = dict.fromkeys(found)  # a word typed twice gives the same part twice
            return sorted(unique, key=lambda q: (-len(_key(q)), words.index(q.split()[0])))[:limit]
    return []
