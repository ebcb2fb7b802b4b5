"""Writing a whole Whoosh segment in one go, for rebuilds.

Whoosh's ``add_document`` runs every token through the field's analyzer and format, puts each posting
into an external-sort pool as a tuple, and ``commit`` sorts the pool and hands the postings to the codec
one call at a time: about 1.5 ms per catalog record, most of a 100k rebuild. Our tokens are analysed
before Whoosh sees them and every indexed field stores only existence (no positions, frequencies or
lengths), so a segment can be written more directly: the postings are inverted in memory as they come
(documents are numbered in order, so each term's array of document numbers is already sorted), then
written term by term in sorted order, a block of document numbers at a time, through the same codec
objects ``commit`` uses. The files are those Whoosh writes itself (``tests/search/test_whoosh_segments.py``
compares them byte for byte with a segment written by ``add_document``). Memory is the inverted postings
of the segment: about 1.2 kB per catalog record. ``SegmentHelper`` runs a second builder in another
process, for a second segment of the same rebuild.

Only schemas this module understands take this path (``SegmentBuilder.supports``); the block writes use
private attributes of whoosh3's ``W3PostingsWriter`` and fall back to one call per posting elsewhere.
"""
from __future__ import annotations

import pickle
from array import array
from collections.abc import Mapping
from typing import Any

from whoosh import formats
from whoosh.analysis import IDTokenizer, RegexTokenizer

from elibrary.search.helper_process import RebuildHelper

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
    """Collects documents for one new segment, written through a per-document writer and a field writer.

    ``add`` takes the same keyword fields as ``add_document``; ``finish`` writes the postings. Either the
    segment is the one a ``SegmentWriter`` (holding the lock) has opened (``for_writer``: its ``commit``
    then closes the segment and swaps in the new table of contents), or a fresh one written by a helper
    process (``for_new_segment``, closed by ``close``) and listed in that commit.
    """

    def __init__(self, schema, perdocwriter, fieldwriter) -> None:
        self._schema = schema
        self._pdw = perdocwriter
        self._fieldwriter = fieldwriter
        self._writer = None
        self._segment = None
        self._indexed: dict[str, Any] = {}
        self._columns: dict[str, Any] = {}
        self._stored: set[str] = set()
        for name, field in schema.items():
            if field.indexed:
                self._indexed[name] = _splitter(field)
            if field.column_type:
                self._columns[name] = field
            if field.stored:
                self._stored.add(name)
        self._postings: dict[str, dict[str, array | int]] = {name: {} for name in self._indexed}
        self.count = 0

    @classmethod
    def for_writer(cls, writer) -> "SegmentBuilder":
        """A builder of the segment ``writer`` has opened (nothing may be added to the writer itself)."""
        builder = cls(writer.schema, writer.perdocwriter, writer.fieldwriter)
        builder._writer = writer
        return builder

    @classmethod
    def for_new_segment(cls, ix) -> "SegmentBuilder":
        """A builder of a new segment of the index ``ix``, to be listed in the commit of the lock holder."""
        from whoosh.codec import default_codec

        codec = default_codec()
        segment = codec.new_segment(ix.storage, ix.indexname)
        builder = cls(ix.schema, codec.per_document_writer(ix.storage, segment), codec.field_writer(ix.storage, segment))
        builder._segment = segment
        return builder

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
        pdw, docnum = self._pdw, self.count
        pdw.start_doc(docnum)
        for name in sorted(fields):
            value = fields[name]
            if value is None or name.startswith("_"):
                continue
            split = self._indexed.get(name)
            if split is not None:
                terms = self._postings[name]
                for token in split(value):  # distinct tokens: a document is added to a term once
                    ids = terms.get(token)
                    if ids is None:
                        terms[token] = docnum  # most terms occur once: an int costs a third of an array
                    elif type(ids) is int:
                        terms[token] = array("I", (ids, docnum))
                    else:
                        ids.append(docnum)
            if name in self._stored:
                pdw.add_field(name, self._schema[name], value, 0)
            column = self._columns.get(name)
            if column is not None:
                pdw.add_column_value(name, column.column_type, column.to_column_value(value))
        pdw.finish_doc()
        self.count = docnum + 1

    def finish(self) -> None:
        """Write every term's postings, fields and terms in Whoosh's order (by name, then by UTF-8 bytes)."""
        if not self.count:
            return
        fieldwriter = self._fieldwriter
        for name in sorted(self._postings):
            terms = self._postings.pop(name)
            if not terms:
                continue
            fieldwriter.start_field(name, self._schema[name])
            # UTF-8 preserves code-point order, so sorting the str tokens gives Whoosh's byte order without
            # a second copy of every term as bytes; each term's postings are freed once written.
            for token in sorted(terms):
                fieldwriter.start_term(token.encode("utf-8"))
                ids = terms.pop(token)
                _add_postings(fieldwriter, array("I", (ids,)) if type(ids) is int else ids)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        if self._writer is not None:
            # The writer finalises its segment on commit only when it believes documents were added to it.
            self._writer.docnum = self.count
            self._writer._added = True

    def close(self):
        """Close a new segment's files; returns the segment (for the table of contents), None if empty."""
        self._pdw.close()
        self._fieldwriter.close()
        self._segment.set_doc_count(self.count)
        return self._segment if self.count else None


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


class SegmentHelper(RebuildHelper):
    """A second process writing its own segment of a rebuild, so analysis and writing use both cores.

    The lock holder reads the documents and hands every batch to the helper with ``offer``, so reading
    the database and analysing and writing overlap on two cores, and the lock holder, often a process that
    has just imported a catalog, holds no postings of its own beyond the first ``helper_after`` titles.
    ``finish`` returns the helper's segment for the commit's table of contents; until that commit no
    reader sees it (a cancelled helper's segment files are never listed, and go at the next commit).
    """

    def __init__(self, path: str, indexname: str) -> None:
        super().__init__("elibrary.search.whoosh_segments:helper_main", path, indexname)

    def finish(self):
        """Wait for the helper to write its segment; returns it (None when it indexed nothing)."""
        return super().finish("segment")


def helper_main() -> None:
    """The helper process: segment fields of the pickled batches on stdin, the segment pickled to stdout."""
    import sys

    from whoosh import index

    from elibrary.search.whoosh_backend import document_fields

    path, indexname = sys.argv[1:3]
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    try:
        builder = SegmentBuilder.for_new_segment(index.open_dir(path, indexname=indexname))
        while (documents := pickle.load(source)) is not None:
            for doc in documents:
                builder.add(document_fields(doc))
        builder.finish()
        answer = ("segment", builder.close())
    except Exception as exc:  # reported to the lock holder, which abandons the rebuild
        import traceback

        answer = ("error", f"{exc!r}\n{traceback.format_exc()}")
    pickle.dump(answer, sink, protocol=pickle.HIGHEST_PROTOCOL)
    sink.flush()
