"""Book-file storage backends, chosen by ``ELIBRARY_STORAGE``."""

BACKENDS = {
    "local": "elibrary.storage.local:LocalStorage",
    "memory": "elibrary.storage.memory:MemoryStorage",
}
