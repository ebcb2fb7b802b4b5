"""What a roster parser produces: records, rejected rows and refusals (pure data, no database)."""
from __future__ import annotations

from dataclasses import dataclass, field

from elibrary.errors import InvalidInput

MAX_ROSTER_BYTES = 10 * 1024 * 1024  # a city of 3,000 pupils is ~1 MB of roster; over 10 MB: split it by school


class RosterRefused(InvalidInput):
    """The whole roster file is refused (wrong format, missing file in a bundle, too large ...)."""

    code = "roster-refused"


@dataclass(frozen=True)
class RosterProblem:
    """One rejected row: where it is and why, in Japanese (and English)."""

    line: str  # "12" (CSV) or "users.csv:12" (OneRoster)
    message_ja: str
    message_en: str = ""


@dataclass
class RosterRecord:
    """One member as a roster gives them, matched on ``sourced_id`` or ``login_id``, never on the name."""

    line: str
    role: str  # pupil, teacher
    school_code: str
    grade: int | None = None
    class_name: str | None = None
    number: int | None = None  # 出席番号
    name: str | None = None
    kana: str | None = None
    login_id: str | None = None
    email: str | None = None  # OneRoster users.email: for linking school sign-in (SSO)
    sourced_id: str | None = None
    class_sourced_id: str | None = None
    enrolment_sourced_id: str | None = None
    leaving: bool = False  # OneRoster delta: status=tobedeleted
    keep_place: bool = False  # OneRoster: the roster does not say the class (delta, or no homeroom): keep this year's
    keep_person: bool = False  # OneRoster delta: only the enrolment changed; name, kana and e-mail stay as they are


@dataclass(frozen=True)
class SchoolInfo:
    """A school as the roster describes it (OneRoster orgs); the CSV template names only its code."""

    code: str
    name: str
    kind: str = "elementary"
    sourced_id: str | None = None


@dataclass
class ParsedRoster:
    """A parsed roster: the records, the rejected rows, and which schools it lists completely."""

    kind: str  # csv, oneroster
    records: list[RosterRecord] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)
    schools: dict[str, SchoolInfo] = field(default_factory=dict)
    year: int | None = None
    year_sourced_id: str | None = None
    complete: bool = True  # bulk: members of the listed schools missing from it are leaving; delta: only tobedeleted

    def reject(self, line: str, message_ja: str, message_en: str = "") -> None:
        """Add a rejected row."""
        self.problems.append(RosterProblem(line, message_ja, message_en))


def decode_text(data: bytes) -> str:
    """Roster text in UTF-8 (with or without BOM) or cp932 (Excel's Shift_JIS); mixed or other: refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    utf8_line = next((n for n, line in enumerate(data.split(b"\n"), 1) if not line.isascii() and _is_utf8(line)), None)
    if utf8_line is not None:  # some lines UTF-8, others not: two encodings in one file
        raise RosterRefused(
            f"1つのファイルに文字コードが混在しています({utf8_line}行目は UTF-8、ほかの行は違います)。UTF-8 か Shift_JIS のどちらかで保存し直してください。",
            "Two encodings are mixed in one file: save it again as UTF-8 or Shift_JIS.",
        )
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise RosterRefused(
            "文字コードを判別できません。UTF-8 または Shift_JIS(cp932)で保存してください。",
            "Cannot read the file's encoding: save it as UTF-8 or Shift_JIS (cp932).",
        ) from None


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_int(value: str | None) -> int | None:
    """A number as typed in a roster (full-width digits allowed); None when empty or not a number."""
    import unicodedata

    text = unicodedata.normalize("NFKC", value or "").strip()
    return int(text) if text.isdigit() else None
