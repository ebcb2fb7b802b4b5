"""The PostgreSQL backend asks its GIN index for a long query's rarest tokens only and checks the rest on
the candidates' rows: the answers must be those of every token looked up (the in-memory backend's)."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from elibrary.search import documents
from elibrary.search.base import SearchQuery
from elibrary.search.memory import MemorySearch
from elibrary.search.postgresql import FIELD_LETTERS, _Sql
from tests.conftest import PG_URL
from tests.search.conftest import build_backend, doc, drop_backend

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs ELIBRARY_TEST_DATABASE_URL on PostgreSQL")

WORDS = ["図書館", "歴史", "物語", "科学", "料理", "旅行", "音楽", "宇宙", "昆虫", "鉄道", "写真", "数学", "森林", "火山", "灯台",
         "風鈴", "折紙", "茶室", "氷河", "銀河", "砂漠", "珊瑚", "竹林", "彗星"]


def _catalog(n: int = 400) -> list:
    rng = random.Random(18)
    head = WORDS[:4]  # in most descriptions: the statistics know them as common
    docs = []
    for i in range(1, n + 1):
        words = [rng.choice(WORDS) for _ in range(3)]
        sentences = [f"{rng.choice(head)}の{w}を{rng.choice(WORDS)}の視点から描く。" for w in words]
        docs.append(doc(i, f"{words[0]}の{words[1]}", description="".join(sentences), audience=rng.choice(["general", "children"]),
                        available=rng.random() < 0.7))
    return docs


@pytest.fixture(scope="module")
def pair():
    catalog = _catalog()
    postgres, memory = build_backend("postgresql", None), MemorySearch()
    postgres.upsert(catalog)
    memory.upsert(catalog)
    with postgres.engine.begin() as conn:
        conn.execute(text("ANALYZE search_documents"))
    yield postgres, memory, catalog
    drop_backend(postgres)


def test_long_queries_find_what_every_token_finds(pair):
    postgres, memory, catalog = pair
    rarity = postgres._rarity()
    assert rarity.frequencies, "ANALYZE gave the statistics the rarest tokens are chosen by"
    texts = [d.description[:60] for d in catalog[:40]] + [d.title + d.description[:20] for d in catalog[40:60]]
    texts += [catalog[1].description[:30] + catalog[2].description[30:60]]  # pieces of two titles: nothing or little
    narrowed = 0
    for query_text in texts:
        units = documents.query_units(query_text)
        every = {t for u in units for c in u if len(c) == 1 for t in c}
        narrowed += len(_Sql(rarity)._index_keys(units, [FIELD_LETTERS[f] + t for f, t in every])) < len(every)
        for query in (SearchQuery(text=query_text, limit=500), SearchQuery(text=query_text, filters={"audience": "children"}, limit=500),
                      SearchQuery(text=query_text, sort="newest", limit=500, with_facets=False)):
            got, expected = postgres.search(query), memory.search(query)
            assert (set(got.ids), got.total, got.facets) == (set(expected.ids), expected.total, expected.facets), query
            assert got.ids[:5] == expected.ids[:5], query
    assert narrowed >= len(texts) // 2  # most of these queries looked up only some of their tokens

