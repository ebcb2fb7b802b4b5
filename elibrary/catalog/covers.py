"""Cover images (書影): validated with Pillow, stored once, served as cached thumbnails.

The original goes to ``covers/{title_id}/{sha256}.{ext}``; thumbnails are made on first request and
kept in storage under ``thumbs/{title_id}/{sha256}-w{width}.{ext}``, so every worker and every app
server behind a load balancer shares them.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from elibrary.catalog.files import size_text
from elibrary.catalog.models import Title
from elibrary.errors import InvalidInput, NotFound
from elibrary.storage.base import BookStorage, ObjectNotFound

MAX_COVER_BYTES = 10 * 1024 * 1024
MAX_COVER_PIXELS = 40_000_000  # a 6000×6600 scan; far below what a decompression bomb expands to
THUMBNAIL_WIDTHS = (120, 240, 480)
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "GIF": ("gif", "image/gif"), "WEBP": ("webp", "image/webp")}
MEDIA_TYPES = dict(FORMATS.values())  # extension -> media type
_COVER_KEY = re.compile(r"^covers/(\d+)/([0-9a-f]{64})\.(jpg|png|gif|webp)$")


class InvalidCover(InvalidInput):
    """An upload that is not an acceptable cover image."""

    code = "invalid-cover"
    message_ja = "表紙画像として使えないファイルです。"
    message_en = "The file cannot be used as a cover image."


def _read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        limit = size_text(max_bytes)
        raise InvalidCover(f"画像が大きすぎます（上限 {limit}）。", f"The image is too large (limit {limit}).", field="cover")
    if not data:
        raise InvalidCover("空のファイルです。", "The file is empty.", field="cover")
    return data


def inspect_cover(data: bytes, max_pixels: int = MAX_COVER_PIXELS) -> str:
    """Check that ``data`` is a whole JPEG/PNG/GIF/WebP image of sane dimensions; returns the Pillow format."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                width, height = image.size
                if image_format not in FORMATS:
                    raise InvalidCover(
                        "JPEG、PNG、GIF、WebP の画像を選んでください。", "Choose a JPEG, PNG, GIF or WebP image.", field="cover"
                    )
                if width * height > max_pixels or width < 1 or height < 1:
                    raise _too_many_pixels()
                image.verify()  # structure and checksums, without decoding
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # a truncated or corrupt image fails here
    except InvalidCover:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InvalidCover("画像ファイルとして読み込めません。", "The file is not a readable image.", field="cover") from None
    return image_format


def _too_many_pixels() -> InvalidCover:
    return InvalidCover("画像の画素数が大きすぎます。", "The image has too many pixels.", field="cover")


def set_cover(session: Session, storage: BookStorage, title: Title, stream: BinaryIO, *, max_bytes: int = MAX_COVER_BYTES) -> str:
    """Validate and store a cover for ``title``; returns its storage key. A bad image stores nothing."""
    data = _read_limited(stream, max_bytes)
    return store_cover(session, storage, title, data, inspect_cover(data))


def store_cover(session: Session, storage: BookStorage, title: Title, data: bytes, image_format: str) -> str:
    """Store a cover that ``inspect_cover`` has passed (``image_format`` is what it returned) for ``title``;
    returns its storage key. An import checks its covers before its writing transaction, this part inside."""
    ext, _media_type = FORMATS[image_format]
    if title.id is None:
        session.flush()
    key = f"covers/{title.id}/{hashlib.sha256(data).hexdigest()}.{ext}"
    if not storage.exists(key):
        storage.put(key, io.BytesIO(data))
    title.cover_key = key
    session.flush()
    return key


def remove_cover(session: Session, title: Title) -> None:
    """The title shows no cover (stored objects are kept: a cached page may still ask for them)."""
    title.cover_key = None
    session.flush()


def thumbnail_key(cover_key: str, width: int) -> tuple[str, str]:
    """Storage key and media type of the thumbnail of ``cover_key`` at ``width`` pixels."""
    match = _COVER_KEY.match(cover_key or "")
    if not match:
        raise NotFound("表紙画像が見つかりません。", "Cover not found.")
    title_id, sha256, ext = match.groups()
    ext = "png" if ext in ("png", "gif") else "jpg"  # keep transparency and flat colours; photos as JPEG
    return f"thumbs/{title_id}/{sha256}-w{width}.{ext}", MEDIA_TYPES[ext]


def thumbnail(storage: BookStorage, cover_key: str, width: int) -> tuple[bytes, str]:
    """The thumbnail bytes and media type of a cover at ``width`` (one of ``THUMBNAIL_WIDTHS``), made once."""
    if width not in THUMBNAIL_WIDTHS:
        raise InvalidInput(
            f"画像の幅は {', '.join(map(str, THUMBNAIL_WIDTHS))} のいずれかです。",
            f"Thumbnail width must be one of {', '.join(map(str, THUMBNAIL_WIDTHS))}.",
            field="width",
        )
    key, media_type = thumbnail_key(cover_key, width)
    try:
        with storage.open(key) as cached:
            return cached.read(), media_type
    except ObjectNotFound:
        pass
    try:
        with storage.open(cover_key) as original:
            data = _render_thumbnail(original.read(), width, media_type)
    except ObjectNotFound:
        raise NotFound("表紙画像が見つかりません。", "Cover not found.") from None
    storage.put(key, io.BytesIO(data))  # atomic: two workers racing write the same bytes
    return data, media_type


def _render_thumbnail(original: bytes, width: int, media_type: str) -> bytes:
    with Image.open(io.BytesIO(original)) as image:
        image.seek(0)  # first frame of an animated GIF/WebP
        frame = ImageOps.exif_transpose(image)
        if frame.width > width:  # never enlarge
            height = max(1, round(frame.height * width / frame.width))
            frame = frame.resize((width, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if media_type == "image/png":
            frame = frame.convert("RGBA")
            frame.save(out, "PNG", optimize=True)
        else:
            if frame.mode != "RGB":
                rgba = frame.convert("RGBA")  # transparent parts on white, not black
                frame = Image.new("RGB", rgba.size, "white")
                frame.paste(rgba, mask=rgba.getchannel("A"))
            frame.save(out, "JPEG", quality=85, optimize=True, progressive=True)
        return out.getvalue()
