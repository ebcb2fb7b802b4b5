"""Search backends, chosen by ``ELIBRARY_SEARCH``."""

BACKENDS = {
    "whoosh": "elibrary.search.whoosh_backend:WhooshSearch",
    "memory": "elibrary.search.memory:MemorySearch",
    "postgresql": "elibrary.search.postgresql:PostgresSearch",
    "tantivy": "elibrary.search.tantivy_backend:TantivySearch",  # optional: pip install 'elibrary[tantivy]'; large catalogs
}
