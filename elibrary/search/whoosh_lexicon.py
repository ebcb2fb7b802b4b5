"""``suggestions.Lexicon`` over a Whoosh index: candidate documents counted with the cached bitsets,
their phrases read from the stored ``phrases`` field, words read from the term dictionaries."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager

from elibrary.search import suggestions
from elibrary.search.whoosh_docsets import SegmentSets, docnums

SegmentsOpener = Callable[[], AbstractContextManager[list[SegmentSets]]]


class WhooshLexicon:
    """What a Whoosh index tells the suggester; ``finds`` asks the backend's own ``search``."""

    def __init__(self, segments: SegmentsOpener, finds: Callable[[str], bool]) -> None:
        self._segments = segments
        self.finds = finds

    def candidate_phrases(self, tokens: list[str], limit: int) -> list[suggestions.Phrase]:
        """Phrases of the ``limit`` documents with most of ``tokens`` (ties: lowest title id)."""
        with self._segments() as segments:
            counts: Counter[tuple[int, int]] = Counter()
            for number, seg in enumerate(segments):
                for token in tokens:
                    bits = 0
                    for field in suggestions.SUGGEST_FIELDS:
                        bits |= seg.term(field, token)
                    bits &= seg.live
                    if bits and bits.bit_count() <= suggestions.COMMON:
                        counts.update((number, d) for d in docnums(bits))
            ids = {key: segments[key[0]].column("num")[key[1]] for key in counts}
            best = sorted(counts, key=lambda key: (-counts[key], ids[key]))[:limit]
            out: list[suggestions.Phrase] = []
            for number, docnum in best:
                stored = segments[number].reader.stored_fields(docnum).get("phrases") or ""
                out.extend(suggestions.decode(stored))
            return out

    def terms(self, prefix: str, limit: int) -> list[str]:
        """Distinct title and author tokens starting with ``prefix``, in byte order."""
        found: set[bytes] = set()
        with self._segments() as segments:
            for seg in segments:
                for field in ("title", "author"):
                    if field not in seg.reader.schema:
                        continue
                    for n, term in enumerate(seg.reader.expand_prefix(field, prefix)):
                        if n >= limit:
                            break
                        found.add(term if isinstance(term, bytes) else term.encode("utf-8"))
        return [t.decode("utf-8") for t in sorted(found)[:limit]]
