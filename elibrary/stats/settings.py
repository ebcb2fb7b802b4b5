"""Statistics settings of the library: age bands (applied at report time), the small-cell threshold, report recipients."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from elibrary.errors import InvalidInput
from elibrary.stats.models import StatsSetting

MAX_AGE = 150


@dataclass(frozen=True)
class AgeBand:
    """Ages ``low``..``high`` (inclusive; ``high`` None: and older) shown as ``label``."""

    label: str
    low: int
    high: int | None


# As Japanese library statistics count them (by age): 未就学, 小学生, 中学生, 高校生, 一般, and 60歳以上.
DEFAULT_BANDS = (AgeBand("未就学", 0, 5), AgeBand("小学生", 6, 11), AgeBand("中学生", 12, 14), AgeBand("高校生", 15, 17),
                 AgeBand("一般", 18, 59), AgeBand("60歳以上", 60, None))
DEFAULT_SMALL_CELL = 3
UNKNOWN_AGE = "不明"


def bands_text(bands: tuple[AgeBand, ...]) -> str:
    """Bands as the settings form shows them, one a line: ``小学生 6-11`` (``60歳以上 60-``)."""
    return "\n".join(f"{b.label} {b.low}-{'' if b.high is None else b.high}" for b in bands)


_LINE = re.compile(r"^(?P<label>.+?)\s+(?P<low>\d{1,3})\s*[-–~〜～]\s*(?P<high>\d{1,3})?$")


def parse_bands(text: str) -> tuple[AgeBand, ...]:
    """Bands from the form; gaps, overlaps and bad lines are refused with a message saying which ages."""
    bands = []
    for number, raw in enumerate((text or "").replace("\r", "").split("\n"), start=1):
        line = raw.strip().translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
        if not line:
            continue
        match = _LINE.match(line)
        if not match:
            raise InvalidInput(f"{number}行目「{raw.strip()[:30]}」は「区分名 下限-上限」（例: 小学生 6-11）の形で書いてください。",
                               f"Line {number} must read 'label low-high' (e.g. 小学生 6-11).", field="bands")
        low, high = int(match["low"]), int(match["high"]) if match["high"] else None
        if high is not None and high < low:
            raise InvalidInput(f"{number}行目: 上限（{high}歳）が下限（{low}歳）より小さくなっています。",
                               f"Line {number}: the upper age {high} is below the lower age {low}.", field="bands")
        bands.append(AgeBand(match["label"][:20], low, high))
    return validate_bands(tuple(bands))


def validate_bands(bands: tuple[AgeBand, ...]) -> tuple[AgeBand, ...]:
    """Check that the bands cover every age from 0 once: sorted, no gap, no overlap, the last open-ended."""
    if not bands:
        raise InvalidInput("年齢区分を1つ以上設定してください。", "Set at least one age band.", field="bands")
    ordered = tuple(sorted(bands, key=lambda b: b.low))
    if ordered[0].low != 0:
        raise InvalidInput(f"0歳から{ordered[0].low - 1}歳が、どの区分にも入っていません。", f"Ages 0-{ordered[0].low - 1} are in no band.",
                           field="bands")
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.high is None or after.low <= before.high:
            raise InvalidInput(f"「{before.label}」と「{after.label}」の年齢が重なっています（{after.low}歳）。",
                               f"The bands {before.label} and {after.label} overlap (age {after.low}).", field="bands")
        if after.low > before.high + 1:
            raise InvalidInput(f"{before.high + 1}歳から{after.low - 1}歳が、どの区分にも入っていません（「{before.label}」と「{after.label}」の間）。",
                               f"Ages {before.high + 1}-{after.low - 1} are in no band.", field="bands")
    if ordered[-1].high is not None:
        raise InvalidInput(f"{ordered[-1].high + 1}歳以上が、どの区分にも入っていません（最後の区分は「60-」のように上限なしにします）。",
                           f"Ages from {ordered[-1].high + 1} are in no band: leave the last band open (e.g. 60-).", field="bands")
    if len({b.label for b in ordered}) != len(ordered):
        raise InvalidInput("同じ名前の区分があります。", "Two bands have the same label.", field="bands")
    return ordered


@dataclass(frozen=True)
class StatsSettings:
    """What reports need to know of the library's choices."""

    bands: tuple[AgeBand, ...] = DEFAULT_BANDS
    small_cell: int = DEFAULT_SMALL_CELL
    recipients: tuple[str, ...] = ()


def load(session: Session) -> StatsSettings:
    """The library's statistics settings (defaults where none were saved)."""
    stored = {row.name: row.value for row in session.query(StatsSetting)}
    bands = DEFAULT_BANDS
    if stored.get("age_bands"):
        bands = tuple(AgeBand(b["label"], int(b["low"]), None if b.get("high") is None else int(b["high"])) for b in stored["age_bands"])
    return StatsSettings(bands=bands, small_cell=int(stored.get("small_cell") or DEFAULT_SMALL_CELL),
                         recipients=tuple(stored.get("recipients") or ()))


def save(session: Session, bands_form: str, small_cell: str, recipients: str) -> StatsSettings:
    """Validate and store the settings form (age bands, small-cell threshold, monthly report addresses)."""
    bands = parse_bands(bands_form)
    try:
        threshold = int((small_cell or "").strip())
    except ValueError:
        raise InvalidInput("秘匿の基準は数字で入力してください。", "The small-cell threshold must be a number.", field="small_cell") from None
    if not 1 <= threshold <= 50:
        raise InvalidInput("秘匿の基準は1から50までの数にしてください。", "The small-cell threshold must be 1-50.", field="small_cell")
    addresses = tuple(a.strip() for a in re.split(r"[\s,;、]+", recipients or "") if a.strip())
    for address in addresses:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address) or len(address) > 254:
            raise InvalidInput(f"メールアドレス「{address[:60]}」が正しくありません。", f"{address[:60]!r} is not an e-mail address.", field="recipients")
    values = {"age_bands": [{"label": b.label, "low": b.low, "high": b.high} for b in bands], "small_cell": threshold,
              "recipients": list(addresses)}
    for name, value in values.items():
        row = session.get(StatsSetting, name)
        if row is None:
            session.add(StatsSetting(name=name, value=value))
        else:
            row.value = value
    session.flush()
    return StatsSettings(bands, threshold, addresses)
