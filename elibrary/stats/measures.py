"""What can be counted (measures) and by what (breakdowns), with their labels in Japanese and English."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """A count: from lending events (``kinds``), registrations, or the aggregate use tables."""

    name: str
    ja: str
    en: str
    source: str  # events, registrations, views, searches, visits
    kinds: tuple[str, ...] = ()
    distinct: bool = False  # count patrons (borrower keys), not events
    from_hold: bool = False
    pupils_only: bool = False
    zero_only: bool = False
    area: str = ""


MEASURES = {m.name: m for m in (
    Measure("loans", "貸出数", "Loans", "events", ("borrow",)),
    Measure("borrowers", "利用者数（実人数）", "Unique borrowers", "events", ("borrow",), distinct=True),
    Measure("returns", "期限前の返却", "Returns before due", "events", ("return",)),
    Measure("renewals", "貸出延長", "Renewals", "events", ("renew",)),
    Measure("holds", "予約数", "Holds placed", "events", ("hold",)),
    Measure("holds_filled", "予約の貸出（予約充足）", "Holds filled", "events", ("borrow",), from_hold=True),
    Measure("school_accounts", "利用のあった学校アカウント", "School accounts active", "events", ("borrow",), distinct=True, pupils_only=True),
    Measure("registrations", "新規登録", "New registrations", "registrations"),
    Measure("views", "タイトル表示", "Title views", "views"),
    Measure("searches", "検索数", "Searches", "searches"),
    Measure("zero_searches", "該当なしの検索", "Searches that found nothing", "searches", zero_only=True),
    Measure("visits", "サイト訪問", "Site visits", "visits", area="site"),
    Measure("reader_visits", "閲覧画面の訪問", "Reader visits", "visits", area="reader"),
)}


@dataclass(frozen=True)
class Breakdown:
    """A way to split a measure; ``patrons``: cells of fewer than N patrons are hidden (school, grade, age)."""

    name: str
    ja: str
    en: str
    patrons: bool = False


BREAKDOWNS = {b.name: b for b in (
    Breakdown("none", "内訳なし", "No breakdown"),
    Breakdown("month", "月別", "By month"),
    Breakdown("category", "利用者区分別", "By patron category"),
    Breakdown("age", "年齢区分別", "By age band", patrons=True),
    Breakdown("school", "学校別", "By school", patrons=True),
    Breakdown("grade", "学年別", "By grade", patrons=True),
    Breakdown("ndc", "NDC類別（1桁）", "By NDC class"),
    Breakdown("ndc2", "NDC綱別（2桁）", "By NDC division"),
    Breakdown("audience", "対象別", "By audience"),
    Breakdown("license", "ライセンス形態別", "By licence model"),
    Breakdown("format", "形式別", "By format"),
    Breakdown("hour", "時間帯別", "By hour of day"),
    Breakdown("weekday", "曜日別", "By day of week"),
    Breakdown("channel", "利用経路別", "By channel"),
    Breakdown("kind", "登録の種類別", "By kind of registration"),
)}

# Which breakdowns each source can give (events carry them all).
SOURCE_BREAKDOWNS = {
    "events": ("none", "month", "category", "age", "school", "grade", "ndc", "ndc2", "audience", "license", "format", "hour", "weekday", "channel"),
    "registrations": ("none", "month", "category", "age", "kind"),
    "views": ("none", "month", "ndc", "ndc2", "audience", "format"),
    "searches": ("none", "month"),
    "visits": ("none", "month"),
}
TEACHER_MEASURES = ("loans", "borrowers", "holds", "returns")
TEACHER_BREAKDOWNS = ("none", "month", "grade", "ndc", "audience", "hour", "weekday")

NDC_CLASSES = {"0": "総記", "1": "哲学", "2": "歴史", "3": "社会科学", "4": "自然科学", "5": "技術", "6": "産業", "7": "芸術", "8": "言語", "9": "文学"}
WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")
VALUE_LABELS = {
    "audience": {"children": "児童", "ya": "YA", "general": "一般"},
    "license": {"one-copy": "1冊1人（ワンコピー）", "concurrent": "同時利用", "metered-loans": "回数制限", "metered-time": "期間制限",
                "open": "読み放題（オープン）"},
    "channel": {"web": "ウェブサイト", "opds": "読書アプリ（OPDS）", "line": "LINE"},
    "category": {"citizen": "一般", "provisional": "仮登録", "student": "児童・生徒", "teacher": "教員"},
    "kind": {"full": "本登録", "provisional": "仮登録", "confirmed": "仮登録からの本登録"},
}
UNKNOWN = "不明"


def value_label(breakdown: str, value: str) -> str:
    """How a value is shown: 9 → 9 文学, 14 → 14時台, 0 → 月曜 ..."""
    if value in ("", None):
        return UNKNOWN
    if breakdown == "ndc":
        return f"{value} {NDC_CLASSES.get(value, '')}".strip()
    if breakdown == "hour":
        return f"{int(value)}時台"
    if breakdown == "weekday":
        return f"{WEEKDAYS[int(value)]}曜日"
    if breakdown == "month":
        year, month = value.split("-")
        return f"{int(year)}年{int(month)}月"
    return VALUE_LABELS.get(breakdown, {}).get(value, value)
