"""A roster kept between the dry run and the confirmation: encrypted, bound to its uploader, gone after an hour."""
from __future__ import annotations

import os
import time

import pytest

from elibrary.errors import NotFound
from elibrary.schools import uploads


def test_kept_encrypted_for_its_uploader_only(rt, tmp_path):
    data = "学校コード,学年\r\n0101,髙橋\r\n".encode()
    token = uploads.keep(tmp_path, rt.cipher, 7, data)
    stored = (tmp_path / f"{token}.bin").read_bytes()
    assert "髙橋".encode() not in stored and oct((tmp_path / f"{token}.bin").stat().st_mode & 0o777) == "0o600"
    assert uploads.load(tmp_path, rt.cipher, 7, token) == data
    with pytest.raises(NotFound):
        uploads.load(tmp_path, rt.cipher, 8, token)  # another member of staff
    with pytest.raises(NotFound):
        uploads.load(tmp_path, rt.cipher, 7, "../../etc/passwd")
    old = time.time() - uploads.KEEP_SECONDS - 1
    os.utime(tmp_path / f"{token}.bin", (old, old))
    with pytest.raises(NotFound):
        uploads.load(tmp_path, rt.cipher, 7, token)
    uploads.forget_old(tmp_path)
    assert not list(tmp_path.glob("*.bin"))
