"""Search backends, chosen by ``ELIBRARY_SEARCH``."""

BACKENDS = {
    "whoosh": "elibrary.search.whoosh_backend:WhooshSearch",
    "memory": "elibrary.search.memory:MemorySearch",
    "postgresql": "elibrary.search.postgresql:PostgresSearch",
    "tantivy": "elibrary.search.tantivy_backend:TantivySearch",  # optional: pip install 'elibrary[tantivy]'; large catalogs
}

# The book-text index (本文検索, ``search.booktext``), chosen by ``ELIBRARY_BOOKTEXT``.
BOOKTEXT_BACKENDS = {
    "tantivy": "elibrary.search.booktext_tantivy:TantivyBookText",
    "memory": "elibrary.search.booktext_memory:MemoryBookText",
}
