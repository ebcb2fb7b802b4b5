import io
import struct
import zlib

import pytest
from PIL import Image

from elibrary.catalog.covers import (
    InvalidCover,
    remove_cover,
    set_cover,
    thumbnail,
    thumbnail_key,
)
from elibrary.errors import InvalidInput, NotFound
from elibrary.storage.memory import MemoryStorage
from tests.catalog.factories import make_title


def image_bytes(fmt="PNG", size=(600, 900), mode="RGB", color=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb in miniature."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def storage():
    return MemoryStorage()


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp")])
def test_cover_stored_once_by_hash(db_session, storage, fmt, ext):
    title = make_title(db_session)
    data = image_bytes(fmt)
    key = set_cover(db_session, storage, title, io.BytesIO(data))
    assert key.startswith(f"covers/{title.id}/") and key.endswith(f".{ext}")
    assert title.cover_key == key
    assert set_cover(db_session, storage, title, io.BytesIO(data)) == key
    assert list(storage.keys()) == [key]
    with storage.open(key) as stored:
        assert stored.read() == data


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "空のファイル"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "読み込めません"),
        (b"%PDF-1.7 not an image", "読み込めません"),
        (image_bytes("PNG")[:300], "読み込めません"),  # truncated
        (image_bytes("BMP"), "JPEG、PNG、GIF、WebP"),
        (image_bytes("TIFF"), "JPEG、PNG、GIF、WebP"),
        (png_claiming(60000, 60000), "画素数"),
        (png_claiming(9000, 9000), "画素数"),  # above our limit, below Pillow's bomb warning
        (b"\xff" * (10 * 1024 * 1024 + 1), "大きすぎます"),
    ],
)
def test_bad_uploads_store_nothing(db_session, storage, data, words):
    title = make_title(db_session)
    with pytest.raises(InvalidCover) as info:
        set_cover(db_session, storage, title, io.BytesIO(data))
    assert words in info.value.message_ja
    assert info.value.detail["field"] == "cover"
    assert list(storage.keys()) == []
    assert title.cover_key is None


@pytest.mark.parametrize("width", [120, 240, 480])
def test_thumbnail_made_once_and_cached(db_session, storage, width):
    title = make_title(db_session)
    key = set_cover(db_session, storage, title, io.BytesIO(image_bytes("PNG", (600, 900))))
    data, media_type = thumbnail(storage, key, width)
    assert media_type == "image/png"
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.size == (width, width * 3 // 2)
    cached_key, _ = thumbnail_key(key, width)
    assert cached_key.startswith(f"thumbs/{title.id}/")
    storage.put(cached_key, io.BytesIO(b"cached"))  # a second call serves the cache, never re-renders
    assert thumbnail(storage, key, width) == (b"cached", "image/png")


def test_jpeg_thumbnail_of_transparent_webp_is_on_white(db_session, storage):
    title = make_title(db_session)
    key = set_cover(db_session, storage, title, io.BytesIO(image_bytes("WEBP", (500, 500), "RGBA", (0, 0, 0, 0))))
    data, media_type = thumbnail(storage, key, 240)
    assert media_type == "image/jpeg"
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and thumb.getpixel((10, 10))[0] > 240


def test_small_cover_is_not_enlarged(db_session, storage):
    title = make_title(db_session)
    key = set_cover(db_session, storage, title, io.BytesIO(image_bytes("JPEG", (100, 150))))
    data, media_type = thumbnail(storage, key, 480)
    assert media_type == "image/jpeg"
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.size == (100, 150)


def test_thumbnail_errors(db_session, storage):
    title = make_title(db_session)
    key = set_cover(db_session, storage, title, io.BytesIO(image_bytes()))
    with pytest.raises(InvalidInput):
        thumbnail(storage, key, 121)
    with pytest.raises(NotFound):
        thumbnail(storage, "books/1/../../etc/passwd", 120)
    with pytest.raises(NotFound):
        thumbnail(storage, f"covers/{title.id}/{'0' * 64}.png", 120)
    remove_cover(db_session, title)
    assert title.cover_key is None
