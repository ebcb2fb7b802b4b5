"""The direct segment builder writes exactly the files Whoosh's own add_document/commit path writes."""
from __future__ import annotations

from datetime import date

import pytest
from whoosh import fields, index

from elibrary.search import whoosh_backend, whoosh_segments
from elibrary.search.base import SearchError, SearchQuery
from elibrary.search.whoosh_backend import WhooshSearch, make_schema
from elibrary.search.whoosh_segments import SegmentBuilder
from tests.search.conftest import CATALOG, doc

# Enough documents that common terms span several 128-posting blocks (one of exactly 256 postings), plus
# values the tokenizer splits further (an NDC with a space) and documents with nearly every field empty.
DOCUMENTS = CATALOG + [
    doc(100 + i, f"図書館の本 第{i}号", title_reading="トショカン ノ ホン", contributors=(f"著者{i % 7}",),
        publisher="岩波書店" if i % 2 else "", subjects=("図書館",) if i < 256 else (), ndc="913.6 ア" if i == 3 else "913",
        published=date(2000 + i % 20, 1 + i % 12, 1) if i % 5 else None, available=bool(i % 3),
        description="library books and the 図書館 " * (i % 3))
    for i in range(300)
] + [doc(900, "", language="", audience="", format=""), doc(901, "猫")]


def segment_files(path) -> dict[str, bytes]:
    """The files of the index's only segment, keyed by name with the random segment id taken out."""
    ix = index.open_dir(str(path))
    (segment,) = ix._segments()
    sid = segment.segment_id()
    return {f.name.replace(sid, "SEG"): f.read_bytes() for f in path.iterdir() if sid in f.name}


def build(path, monkeypatch, *, direct: bool):
    """Rebuild an index of DOCUMENTS through the segment builder or through add_document."""
    with monkeypatch.context() as patch:
        if not direct:
            patch.setattr(SegmentBuilder, "supports", staticmethod(lambda schema: False))
        search = WhooshSearch(path)
        assert search.rebuild(DOCUMENTS) == len(DOCUMENTS)
    return search


def test_the_builder_writes_the_same_bytes_as_add_document(tmp_path, monkeypatch):
    build(tmp_path / "whoosh", monkeypatch, direct=False)
    build(tmp_path / "direct", monkeypatch, direct=True)
    expected, written = segment_files(tmp_path / "whoosh"), segment_files(tmp_path / "direct")
    assert {"SEG.pst", "SEG.trm", "SEG._stored.col", "SEG.num.col", "SEG.reading.col"} <= set(expected)
    assert written.keys() == expected.keys()
    for name in expected:
        assert written[name] == expected[name], name


def test_the_posting_by_posting_fallback_writes_the_same_bytes(tmp_path, monkeypatch):
    # A codec whose postings writer lacks the block buffer gets one call per posting.
    build(tmp_path / "whoosh", monkeypatch, direct=False)
    monkeypatch.setattr(whoosh_segments, "_BLOCK_ATTRS", ("_no_such_buffer",))
    build(tmp_path / "direct", monkeypatch, direct=True)
    assert segment_files(tmp_path / "direct") == segment_files(tmp_path / "whoosh")


def test_a_rebuilt_index_answers_queries(tmp_path, monkeypatch):
    search = build(tmp_path / "direct", monkeypatch, direct=True)
    assert search.search(SearchQuery(text="図書館")).total == 300
    assert search.search(SearchQuery(text="ア")).ids == [103]  # the NDC's second word
    assert search.search(SearchQuery(text="猫", sort="newest")).ids == [2, 1, 901]


def test_only_existence_only_schemas_take_the_direct_path():
    assert SegmentBuilder.supports(make_schema())
    assert not SegmentBuilder.supports(fields.Schema(body=fields.TEXT))  # positions and frequencies
    assert not SegmentBuilder.supports(fields.Schema(tag=fields.ID(field_boost=2.0)))


@pytest.mark.parametrize("direct", [True, False])
def test_an_empty_rebuild_leaves_an_empty_index(tmp_path, monkeypatch, direct):
    search = build(tmp_path / "index", monkeypatch, direct=direct)
    assert search.rebuild([]) == 0
    assert search.status()["documents"] == 0


def queries_answered(search) -> list:
    """Answers to a spread of queries: ids, totals and facet counts."""
    texts = ["", "図書館", "猫", "としょかん", "library", "913", "岩波", "第3号", "ア", "著者3 図書館"]
    return [
        (r.ids, r.total, r.facets)
        for text in texts
        for sort in ("relevance", "newest", "reading")
        for r in [search.search(SearchQuery(text=text, sort=sort, limit=400))]
    ]


def test_helper_processes_write_segments_of_their_own_with_the_same_answers(tmp_path, monkeypatch):
    alone = build(tmp_path / "alone", monkeypatch, direct=True)
    monkeypatch.setattr(whoosh_backend, "_REBUILD_BATCH", 40)
    helped = WhooshSearch(tmp_path / "helped", helper_after=100)  # past 100 titles every batch goes to a helper
    assert helped.rebuild(DOCUMENTS) == len(DOCUMENTS)
    segments = index.open_dir(str(tmp_path / "helped"))._segments()
    assert len(segments) == 2 and sum(s.doc_count_all() for s in segments) == len(DOCUMENTS)
    assert queries_answered(helped) == queries_answered(alone)
    small = WhooshSearch(tmp_path / "small", helper_after=len(DOCUMENTS))  # never reached: one segment, written here
    assert small.rebuild(DOCUMENTS) == len(DOCUMENTS)
    assert len(index.open_dir(str(tmp_path / "small"))._segments()) == 1
    assert queries_answered(small) == queries_answered(alone)
    assert not (tmp_path / "helped" / "MAIN.tmp").exists()


def test_a_failing_helper_abandons_the_rebuild_and_keeps_the_old_index(tmp_path, monkeypatch):
    search = WhooshSearch(tmp_path / "index", helper_after=0)
    search.upsert(CATALOG)
    monkeypatch.setattr(whoosh_backend, "_REBUILD_BATCH", 2)
    broken = [doc(50, None), doc(51, "犬")] + DOCUMENTS  # the first batch goes to the helper, which cannot analyse it
    with pytest.raises(SearchError, match="rebuild failed"):
        search.rebuild(broken)
    assert sorted(search.search(SearchQuery(text="猫")).ids) == [1, 2]
    search.upsert([doc(60, "猫町")])  # the lock was released
    assert sorted(search.search(SearchQuery(text="猫")).ids) == [1, 2, 60]
