"""Writing a whole Whoosh segment in one go, for rebuilds.

Whoosh's ``add_document`` runs every token through the field's analyzer and format, puts each posting
into an external-sort pool as a tuple, and ``commit`` sorts the pool and hands the postings to the codec
one call at a time: about 1.5 ms per catalog record, most of a 100k rebuild. Our tokens are analysed
before Whoosh sees them and every indexed field stores only existence (no positions, frequencies or
lengths), so a segment can be written more directly: the postings are inverted in memory as they come
(documents are numbered in order, so each term's array of document numbers is already sorted), then
written term by term in sorted order, a block of document numbers at a time, through the same codec
objects ``commit`` uses. The files are those Whoosh writes itself (``tests/search/test_whoosh_segments.py``
compares every term, posting, stored field and column with an index written by ``add_document``).

Only schemas this module understands take this path (``SegmentBuilder.supports``); the block writes use
private attributes of whoosh3's ``W3PostingsWriter`` and fall back to one call per posting elsewhere.
"""
from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any

from whoosh import formats
from whoosh.analysis import IDTokenizer, RegexTokenizer

_BLOCK_ATTRS = ("_ids", "_weights", "_maxweight", "_blocklimit", "_write_block", "_new_block")


def _splitter(field):
    """A function giving the distinct tokens of a value as the field's analyzer would, or None."""
    analyzer = field.analyzer
    if isinstance(analyzer, IDTokenizer):
        return lambda value: (value,)
    if isinstance(analyzer, RegexTokenizer) and not analyzer.gaps:
        findall = analyzer.expression.findall
        if analyzer.expression.groups == 0:
            return lambda value: set(findall(value))
    return None


class SegmentBuilder:
    """Collects documents for one new segment of ``writer`` (a ``SegmentWriter`` holding the lock).

    ``add`` takes the same keyword fields as ``add_document``; ``finish`` writes the postings; the
    writer's ``commit`` then closes the segment and swaps in the new table of contents.
    """

    def __init__(self, writer) -> None:
        self._writer = writer
        self._schema = writer.schema
        self._pdw = writer.perdocwriter
        self._indexed: dict[str, Any] = {}
        self._columns: dict[str, Any] = {}
        self._stored: set[str] = set()
        for name, field in self._schema.items():
            if field.indexed:
                self._indexed[name] = _splitter(field)
            if field.column_type:
                self._columns[name] = field
            if field.stored:
                self._stored.add(name)
        self._postings: dict[str, dict[str, array]] = {name: {} for name in self._indexed}
        self.count = 0

    @staticmethod
    def supports(schema) -> bool:
        """True when every indexed field stores existence only, with an analyzer this module can split by."""
        for _name, field in schema.items():
            if not field.indexed:
                continue
            fmt = field.format
            if type(fmt) is not formats.Existence or fmt.field_boost != 1.0:
                return False
            if field.scorable or field.vector or field.separate_spelling() or _splitter(field) is None:
                return False
        return True

    def add(self, fields: Mapping[str, Any]) -> None:
        """Add one document (as ``add_document(**fields)`` would)."""
        writer, pdw = self._writer, self._pdw
        docnum = writer.docnum
        pdw.start_doc(docnum)
        for name in sorted(fields):
            value = fields[name]
            if value is None or name.startswith("_"):
                continue
            split = self._indexed.get(name)
            if split is not None:
                terms = self._postings[name]
                for token in split(value):
                    ids = terms.get(token)
                    if ids is None:
                        terms[token] = ids = array("I")
                    ids.append(docnum)
            if name in self._stored:
                pdw.add_field(name, self._schema[name], value, 0)
            column = self._columns.get(name)
            if column is not None:
                pdw.add_column_value(name, column.column_type, column.to_column_value(value))
        pdw.finish_doc()
        writer.docnum = docnum + 1
        self.count += 1

    def finish(self) -> None:
        """Write every term's postings, fields and terms in Whoosh's order (by name, then by UTF-8 bytes)."""
        if not self.count:
            return
        fieldwriter = self._writer.fieldwriter
        for name in sorted(self._postings):
            terms = self._postings.pop(name)
            if not terms:
                continue
            fieldwriter.start_field(name, self._schema[name])
            for btext, ids in sorted((token.encode("utf-8"), ids) for token, ids in terms.items()):
                fieldwriter.start_term(btext)
                _add_postings(fieldwriter, ids)
                fieldwriter.finish_term()
            terms.clear()
            fieldwriter.finish_field()
        # The writer finalises the segment on commit only when it believes documents were added.
        self._writer._added = True


def _add_postings(fieldwriter, ids: array) -> None:
    """Give the current term its document numbers: whole blocks where the codec allows, else one by one."""
    postwriter = getattr(fieldwriter, "_postwriter", None)
    if postwriter is None or not all(hasattr(postwriter, a) for a in _BLOCK_ATTRS):
        for docnum in ids:
            fieldwriter.add(docnum, 1.0, b"", 0)
        return
    # What add_posting(docnum, 1.0, b"", 0) leaves in the block buffer: ids, weights of 1.0, max weight 1.0,
    # no values or lengths; a full block is written before the next posting, the last one by finish_term.
    limit, total = postwriter._blocklimit, len(ids)
    for start in range(0, total, limit):
        chunk = ids[start : start + limit]
        postwriter._ids = chunk
        postwriter._weights = array("f", [1.0]) * len(chunk)
        postwriter._maxweight = 1.0
        if start + limit < total:
            postwriter._write_block()
