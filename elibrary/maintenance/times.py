"""Times of a planned stop: parsed as the operator types them, shown as people read them (Japan time)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from elibrary.errors import InvalidInput

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS_JA = "月火水木金土日"


def parse_when(value: str, now: datetime) -> datetime:
    """``2026-12-06 03:00`` or ``2026-12-06T03:00+09:00`` (no zone: Japan time), or ``HH:MM`` (the next such time)."""
    text = value.strip()
    try:
        if len(text) <= 5 and ":" in text:
            clock = time.fromisoformat(text.zfill(5))
            local = now.astimezone(TOKYO)
            moment = local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
            return moment if moment > local else moment + timedelta(days=1)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"日時 {text!r} を読めません（例: 2026-12-06 03:00 または 03:00）。",
            f"cannot read the time {text!r} (e.g. 2026-12-06 03:00 or 03:00)",
        ) from None
    return moment.replace(tzinfo=TOKYO) if moment.tzinfo is None else moment


def describe_ja(moment: datetime) -> str:
    """``12月6日（日）6時00分`` in Japan time."""
    local = moment.astimezone(TOKYO)
    return f"{local.month}月{local.day}日（{WEEKDAYS_JA[local.weekday()]}）{local.hour}時{local.minute:02d}分"


def describe_en(moment: datetime) -> str:
    """``Sunday 6 December, 06:00 (Japan time)``."""
    local = moment.astimezone(TOKYO)
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B')}, {local.strftime('%H:%M')} (Japan time)"
