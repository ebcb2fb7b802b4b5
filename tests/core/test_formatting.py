"""Dates, spans and labels as people read them (the shared Jinja filters)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from elibrary.web.formatting import format_day, format_day_range, format_exact, format_moment, format_span, japanese_year
from elibrary.web.labels import AUDIT_ACTIONS, LICENSE_MODELS, label

TODAY = date(2026, 12, 5)


def test_days_in_japanese_and_english():
    assert format_day(date(2026, 12, 20), "ja", today=TODAY) == "12月20日（日）"
    assert format_day(date(2026, 12, 20), "en", today=TODAY) == "Sun 20 Dec"
    assert format_day(date(2027, 1, 4), "ja", today=TODAY) == "2027年1月4日（月）"
    assert format_day(date(2026, 12, 20), "ja", era=True, today=TODAY) == "令和8年12月20日（日）"
    assert japanese_year(date(2019, 5, 1), era=True) == "令和元年"


def test_moments_are_japan_time_and_never_iso():
    moment = datetime(2026, 12, 8, 16, 51, tzinfo=timezone.utc)  # 9 Dec 01:51 in Japan
    assert format_moment(moment, "en", today=TODAY) == "9 Dec 01:51"
    assert format_moment(moment, "ja", today=TODAY) == "12月9日（水）1:51"
    assert format_exact(moment, "ja") == "2026年12月9日（水）01:51:00"
    assert "-" not in format_moment(moment, "en", today=TODAY)


def test_spans_and_ranges_read_as_english_and_japanese():
    assert format_span(timedelta(hours=20), "en") == "about 20 hours"
    assert format_span(timedelta(days=1), "en") == "about 1 day"
    assert format_span(timedelta(days=2, hours=1), "ja") == "約3日"
    assert format_day_range(1, 14, "ja") == "1〜14日"
    assert format_day_range(1, 14, "en") == "1 to 14 days"
    assert format_day_range(3, 3, "en") == "about 3 days"


def test_staff_see_labels_not_codes():
    assert label(LICENSE_MODELS, "one-copy") == "ワンコピー・ワンユーザー"
    assert label(LICENSE_MODELS, "metered-time", "en") == "Limited time"
    assert label(AUDIT_ACTIONS, "view") == "閲覧"
    assert label(AUDIT_ACTIONS, "unknown-code") == "unknown-code"
