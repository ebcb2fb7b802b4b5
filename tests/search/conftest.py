"""Fixtures for the search tests: every backend by name, and a document builder."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from elibrary.search.base import SearchDocument
from elibrary.search.memory import MemorySearch
from elibrary.search.whoosh_backend import WhooshSearch
from tests.conftest import PG_URL

# The PostgreSQL backend joins the contract when ELIBRARY_TEST_DATABASE_URL names a server.
BACKENDS = ["memory", "whoosh", "tantivy"] + (["postgresql"] if PG_URL else [])


def build_backend(name: str, path, **options):
    """A fresh backend of kind ``name`` (Whoosh and tantivy indexes live under ``path``; PostgreSQL's tables in a schema of their own)."""
    if name == "memory":
        return MemorySearch(**options)
    if name == "tantivy":
        from elibrary.search.tantivy_backend import TantivySearch

        return TantivySearch(path, **options)
    if name == "postgresql":
        return _postgresql_backend(**options)
    return WhooshSearch(path, **options)


def _postgresql_backend(**options):
    """A ``PostgresSearch`` on empty tables of its own: a new schema, first on its connections' search path."""
    from elibrary.search.postgresql import PostgresSearch
    from elibrary.search.postgresql_rows import metadata

    schema = f"search_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    metadata.create_all(engine)
    search = PostgresSearch(engine, **options)
    search.schema = schema
    return search


def drop_backend(search) -> None:
    """Close a backend; a PostgreSQL one's schema goes too."""
    if hasattr(search, "close"):
        search.close()
    if getattr(search, "schema", None):
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{search.schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """Each search backend in turn, empty."""
    search = build_backend(request.param, tmp_path / "index")
    yield search
    drop_backend(search)


def doc(id: int, title: str, **fields) -> SearchDocument:
    """A search document with sensible defaults."""
    fields.setdefault("language", "ja")
    fields.setdefault("audience", "general")
    fields.setdefault("format", "epub-reflowable")
    return SearchDocument(id=id, title=title, **fields)


# A small catalog most tests search: readings, old kanji forms, English, facets, dates.
CATALOG = [
    doc(1, "吾輩は猫である", title_reading="ワガハイ ワ ネコ デ アル", contributors=("夏目漱石",),
        contributor_readings=("ナツメ ソウセキ",), publisher="新潮社", isbn="9784101010014", ndc="913.6",
        published=date(2003, 6, 1), subjects=("小説",)),
    doc(2, "猫の事務所", title_reading="ネコ ノ ジムショ", contributors=("宮沢賢治",), contributor_readings=("ミヤザワ ケンジ",),
        audience="children", format="epub-fixed", ndc="913.6", published=date(2015, 4, 1)),
    doc(3, "國語の歴史", title_reading="コクゴ ノ レキシ", contributors=("齋藤一郎",), contributor_readings=("サイトウ イチロウ",),
        ndc="810.2", published=date(1990, 1, 1), description="日本語の移り変わりを学ぶ。"),
    doc(4, "はじめてのコンピューター", title_reading="ハジメテ ノ コンピューター", audience="children", ndc="007",
        published=date(2020, 1, 15), available=False),
    doc(5, "Python for Librarians", subtitle="A Practical Guide", contributors=("Jane Smith",), language="en",
        format="pdf", ndc="007.64", published=date(2021, 3, 3), description="Automate the library catalogue."),
    doc(6, "ヴァイオリンの本", title_reading="ヴァイオリン ノ ホン", audience="ya", ndc="763", published=None),
    doc(7, "こころ", title_reading="ココロ", contributors=("夏目漱石",), contributor_readings=("ナツメ ソウセキ",),
        ndc="913.6", published=date(2004, 3, 1), description="先生と私の物語。"),
]
