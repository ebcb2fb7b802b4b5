"""Roster files between the dry run and the librarian's confirmation: encrypted at rest, for one hour.

A roster holds pupils' names, so the uploaded file is kept encrypted (the data key, like patrons' personal
data) under a random name in the instance folder, bound to the member of staff who uploaded it, and
removed once confirmed or after ``KEEP_SECONDS``.
"""
from __future__ import annotations

import base64
import re
import secrets
import time
from pathlib import Path

from elibrary.errors import NotFound
from elibrary.security.crypto import DataCipher, DecryptionError

KEEP_SECONDS = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def keep(folder: Path, cipher: DataCipher, staff_id: int, data: bytes) -> str:
    """Store an uploaded roster; returns the token that names it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    forget_old(folder)
    token = secrets.token_urlsafe(32)
    blob = cipher.encrypt(base64.b64encode(data).decode("ascii"), f"roster-upload:{staff_id}")
    path = folder / f"{token}.bin"
    path.write_bytes(blob)
    path.chmod(0o600)
    return token


def load(folder: Path, cipher: DataCipher, staff_id: int, token: str) -> bytes:
    """The roster stored under ``token`` by this member of staff; ``NotFound`` when gone, expired or someone else's."""
    path = folder / f"{token}.bin"
    if not _TOKEN.match(token or "") or not path.is_file() or time.time() - path.stat().st_mtime > KEEP_SECONDS:
        raise NotFound("確認した名簿ファイルが見つかりません(1時間を過ぎたか、すでに取り込み済みです)。もう一度アップロードしてください。",
                       "The checked roster is gone (over an hour old or already imported): upload it again.")
    try:
        text = cipher.decrypt(path.read_bytes(), f"roster-upload:{staff_id}")
    except DecryptionError:  # another member of staff's upload: the bound context does not match
        raise NotFound("確認した名簿ファイルが見つかりません。もう一度アップロードしてください。", "The checked roster is gone: upload it again.") from None
    return base64.b64decode(text or "")


def forget(folder: Path, token: str) -> None:
    """Remove a stored roster (after it was imported)."""
    if _TOKEN.match(token or ""):
        (folder / f"{token}.bin").unlink(missing_ok=True)


def forget_old(folder: Path) -> None:
    """Remove stored rosters older than ``KEEP_SECONDS``."""
    now = time.time()
    for path in folder.glob("*.bin"):
        if now - path.stat().st_mtime > KEEP_SECONDS:
            path.unlink(missing_ok=True)
