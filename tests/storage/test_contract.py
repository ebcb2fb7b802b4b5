"""One contract for every storage backend, the fake included."""
import io

import pytest

from elibrary.storage.base import ObjectNotFound, StorageError
from elibrary.storage.local import LocalStorage
from elibrary.storage.memory import MemoryStorage


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path):
    return LocalStorage(tmp_path / "files") if request.param == "local" else MemoryStorage()


def test_put_open_size_delete(storage):
    assert storage.put("books/1/abc.epub", io.BytesIO(b"PK\x03\x04data")) == 8
    assert storage.exists("books/1/abc.epub")
    assert storage.size("books/1/abc.epub") == 8
    with storage.open("books/1/abc.epub") as fh:
        fh.seek(2)
        assert fh.read() == b"\x03\x04data"
    assert list(storage.keys("books/")) == ["books/1/abc.epub"]
    storage.delete("books/1/abc.epub")
    assert not storage.exists("books/1/abc.epub")
    storage.delete("books/1/abc.epub")  # deleting twice is fine


def test_missing_object(storage):
    with pytest.raises(ObjectNotFound):
        storage.open("books/9/none.epub")
    with pytest.raises(ObjectNotFound):
        storage.size("books/9/none.epub")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "books/../../x", "Books/Title.epub", "books/吾輩.epub", ""])
def test_keys_are_ids_and_hashes_only(storage, key):
    with pytest.raises(StorageError):
        storage.put(key, io.BytesIO(b"x"))


def test_status(storage):
    assert storage.status()["ok"] is True


def test_local_write_is_atomic(tmp_path):
    storage = LocalStorage(tmp_path)

    class Exploding(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise OSError("disk gone")
            return super().read(4)

    with pytest.raises(OSError):
        storage.put("books/1/x.epub", Exploding(b"12345678"))
    assert not storage.exists("books/1/x.epub")
    assert list(storage.keys()) == []
