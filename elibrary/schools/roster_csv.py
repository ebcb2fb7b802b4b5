"""The Japanese roster CSV template (名簿CSV): a pure parser, bytes in, records and rejected rows out.

Columns (first row, in any order): 学校コード, 学年, 組, 出席番号, 氏名 (optional), ふりがな (optional),
ログインID (optional), 種別 (児童・生徒 / 教員), メールアドレス (optional: school SSO linking, and a teacher's staff
account of the same address and school is linked to the teacher's school account). UTF-8 with or without BOM, or cp932 (Excel's Shift_JIS).
"""
from __future__ import annotations

import csv
import io
import unicodedata

from elibrary.schools.roster import MAX_ROSTER_BYTES, ParsedRoster, RosterRecord, RosterRefused, decode_text, parse_int

COLUMNS = {  # field -> headers recognised (after NFKC, spaces removed, lower case)
    "school_code": ("学校コード", "school_code", "school"),
    "grade": ("学年", "grade"),
    "class_name": ("組", "クラス", "class"),
    "number": ("出席番号", "番号", "number"),
    "name": ("氏名", "名前", "name"),
    "kana": ("ふりがな", "フリガナ", "よみ", "kana"),
    "login_id": ("ログインid", "login_id", "loginid"),
    "role": ("種別", "role"),
    "email": ("メールアドレス", "メール", "email", "e-mail"),
}
REQUIRED = ("school_code", "grade", "class_name", "number", "role")
TEMPLATE_HEADERS = ("学校コード", "学年", "組", "出席番号", "氏名", "ふりがな", "ログインID", "種別")
ROLES = {"児童": "pupil", "生徒": "pupil", "児童生徒": "pupil", "pupil": "pupil", "student": "pupil",
         "教員": "teacher", "教職員": "teacher", "先生": "teacher", "teacher": "teacher"}
LABELS = {"school_code": "学校コード", "grade": "学年", "class_name": "組", "number": "出席番号", "role": "種別"}


def template_text() -> str:
    """The template as text: the header row and two example rows (a pupil and a teacher)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(("13101", "3", "2", "15", "", "", "", "児童"))
    writer.writerow(("13101", "3", "2", "", "", "", "", "教員"))
    return out.getvalue()


def _header_key(header: str) -> str:
    return "".join(unicodedata.normalize("NFKC", header).split()).lower()


def parse_csv(data: bytes) -> ParsedRoster:
    """Parse the roster template; rows with a problem are rejected with their line number, the rest kept."""
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterRefused(too_large_ja(len(data)), "The roster file is too large (at most 10 MB): split it by school.")
    reader = csv.reader(io.StringIO(decode_text(data), newline=""))
    roster = ParsedRoster(kind="csv")
    try:
        headers = next(reader)
    except StopIteration:
        raise RosterRefused("名簿ファイルが空です。", "The roster file is empty.") from None
    positions = _positions(headers)
    line = reader.line_num
    for row in reader:
        where, line = str(line + 1), reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        record = _record(roster, where, row, positions)
        if record is not None:
            roster.records.append(record)
    return roster


def too_large_ja(size: int) -> str:
    """The refusal of a roster over the size limit."""
    return f"名簿ファイルが大きすぎます({size / 1024 / 1024:.1f} MB、上限 {MAX_ROSTER_BYTES // 1024 // 1024} MB)。学校ごとに分けて取り込んでください。"


def _positions(headers: list[str]) -> dict[str, int]:
    keys = [_header_key(h) for h in headers]
    positions = {}
    for field, names in COLUMNS.items():
        for index, key in enumerate(keys):
            if key in names:
                positions[field] = index
                break
    missing = [LABELS[f] for f in REQUIRED if f not in positions]
    if missing:
        raise RosterRefused(
            "1行目の見出しに次の列がありません: " + "、".join(missing) + "。ひな形の見出しをそのまま使ってください。",
            "The header row lacks: " + ", ".join(missing) + ". Use the template's headers.",
        )
    return positions


def _record(roster: ParsedRoster, where: str, row: list[str], positions: dict[str, int]) -> RosterRecord | None:
    def cell(field: str) -> str:
        index = positions.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    role = ROLES.get(_header_key(cell("role")))
    if role is None:
        roster.reject(where, f"種別「{cell('role')}」が分かりません(児童・生徒・教員のいずれか)。", "Unknown role.")
        return None
    school_code = unicodedata.normalize("NFKC", cell("school_code")).strip()
    if not school_code:
        roster.reject(where, "学校コードがありません。", "The school code is missing.")
        return None
    grade, number = parse_int(cell("grade")), parse_int(cell("number"))
    if role == "pupil":
        if grade is None:
            roster.reject(where, "学年がありません(または数字ではありません)。", "The grade is missing or not a number.")
            return None
        if not cell("class_name"):
            roster.reject(where, "組がありません。", "The class is missing.")
            return None
        if number is None and not cell("login_id"):
            roster.reject(where, "出席番号がありません(ログインIDがない行には必要です)。", "The attendance number is missing.")
            return None
    class_name = unicodedata.normalize("NFKC", cell("class_name")).strip() or None
    return RosterRecord(line=where, role=role, school_code=school_code, grade=grade, class_name=class_name, number=number,
                        name=cell("name") or None, kana=cell("kana") or None, login_id=cell("login_id") or None,
                        email=cell("email") or None)
