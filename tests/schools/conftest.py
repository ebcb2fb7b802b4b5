"""Fixtures of the schools tests: two schools registered, a CSV roster made from rows."""
from __future__ import annotations

import pytest

from elibrary.schools import directory


@pytest.fixture
def schools(rt):
    """Two elementary schools and one junior high, committed."""
    with rt.db.scope() as session:
        directory.add_school(session, "0101", "さくら小学校", "elementary")
        directory.add_school(session, "0102", "ひまわり小学校", "elementary")
        directory.add_school(session, "0201", "みどり中学校", "junior_high")


def roster_csv(rows: list[tuple], encoding: str = "utf-8", header=("学校コード", "学年", "組", "出席番号", "氏名", "ふりがな", "ログインID", "種別")) -> bytes:
    """A roster in the template's columns."""
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)
