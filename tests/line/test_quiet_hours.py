"""Quiet hours in Japan time, across midnight or not, and the retry key's stability."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from elibrary.line.notifier import TOKYO, parse_quiet_hours, quiet_until, retry_key
from elibrary.notify.base import Message

NIGHT = parse_quiet_hours("21:00-08:00")


def _jst(hour, minute=0):
    return datetime(2026, 12, 7, hour, minute, tzinfo=TOKYO).astimezone(timezone.utc)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"), [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (7, 59, True), (8, 0, False), (12, 0, False)]
)
def test_overnight_window(hour, minute, quiet):
    at = _jst(hour, minute)
    until = quiet_until(at, NIGHT)
    assert (until is not None) == quiet
    if until is not None:
        assert until.astimezone(timezone.utc).hour == 23 and until > at  # 08:00 JST is 23:00 UTC


def test_daytime_window_and_none():
    lunch = parse_quiet_hours("12:00-13:00")
    assert quiet_until(_jst(12, 30), lunch) is not None and quiet_until(_jst(13, 0), lunch) is None
    assert quiet_until(_jst(23), parse_quiet_hours("")) is None
    with pytest.raises(ValueError):
        parse_quiet_hours("nine-to-five")


def test_retry_key_is_stable_per_outbox_row():
    a = Message("line", "U1", "s", "b", kind="hold-ready", key="outbox:1:2026")
    assert retry_key(a) == retry_key(Message("line", "U1", "s", "b", kind="hold-ready", key="outbox:1:2026"))
    assert retry_key(a) != retry_key(Message("line", "U1", "s", "b", kind="hold-ready", key="outbox:2:2026"))
