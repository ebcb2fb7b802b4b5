"""The snippet of a book-text hit: at most ``SNIPPET_CHARS`` characters of the passage around the first hit.

Pure text in, three strings out (before, the hit, after): the page escapes them and marks the hit, so
nothing of the book is ever put into HTML unescaped. Offsets are found in the folded text (``booktext.fold``)
and mapped back to the original characters one by one; when a word cannot be mapped back (a fold that
joins characters, as ﾊﾟ → ぱ), the passage's start is shown without a mark.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import re
from dataclasses import dataclass

from elibrary.search.booktext import fold, query_words

SNIPPET_CHARS = 100  # the most characters of a book's text one hit shows
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Snippet:
    """Text before the hit, the hit, the text after; ``…`` marks cut ends. ``hit`` is empty when nothing could be marked."""

    before: str
    hit: str
    after: str

    def __len__(self) -> int:
        return len(self.before) + len(self.hit) + len(self.after)


_fold_char = functools.lru_cache(maxsize=20_000)(fold)  # a passage is folded one character at a time


def _folded_with_map(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, and for each original character where its fold ends in the folded text.

    The folded character at ``p`` comes from original character ``bisect_right(ends, p)``. Every loop here
    runs in C (``map`` over the cached fold, ``accumulate``): a passage costs tens of microseconds, not a
    millisecond.
    """
    pieces = list(map(_fold_char, text))
    return "".join(pieces), list(itertools.accumulate(map(len, pieces)))


def snippet(text: str, query: str, limit: int = SNIPPET_CHARS) -> Snippet:
    """The part of ``text`` (a passage) around the first query word found, cut to ``limit`` characters in all."""
    text = _SPACE.sub(" ", text).strip()
    folded, ends = _folded_with_map(text)
    for word in query_words(query):
        at = folded.find(word)
        if at < 0:
            continue
        start, end = bisect.bisect_right(ends, at), bisect.bisect_right(ends, at + len(word) - 1) + 1
        hit = text[start:end][: limit - 2]
        room = max(limit - len(hit) - 2, 0)  # two characters for the ellipses
        before_room = min(room // 3, start)
        after_room = room - before_room
        lead = max(start - before_room, 0)
        before = ("…" if lead > 0 else "") + text[lead:start]
        after = text[end : end + after_room] + ("…" if end + after_room < len(text) else "")
        return Snippet(before, hit, after)
    return Snippet("", "", text[: limit - 1] + ("…" if len(text) >= limit else ""))
