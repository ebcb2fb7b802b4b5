"""Zero-hit catalog searches that match pool titles feed the selection suggestions (counts only, nobody's)."""
from datetime import date, datetime, timezone

import pytest

from elibrary.errors import Forbidden
from elibrary.selection import suggestions
from elibrary.usage.counters import UsageCounters
from tests.conftest import sign_in_staff
from tests.selection.factories import make_offer, make_staff

NOW = datetime(2026, 6, 10, 3, 0, tzinfo=timezone.utc)


def _log(rt, searches):
    counters = UsageCounters(rt.db)
    for text, hits in searches:
        counters.record_search(text, hits, NOW)
    counters.flush()


def test_missed_searches_that_match_the_pool_are_suggested(rt, db_session):
    _log(rt, [("恐竜", 0), ("恐竜", 0), ("きょうりゅう", 0), ("宇宙人の料理", 0), ("こころ", 3), ("山田花子", 0)])  # before the test's transaction writes
    offer = make_offer(db_session, title="はらぺこ恐竜のぼうけん")
    staff = make_staff(db_session)
    found = suggestions.missed_searches(db_session, staff, date(2026, 6, 20))
    assert [(f.query.shown, f.query.zero_hits, f.pool_total) for f in found] == [("恐竜", 2, 1)]  # no pool title: not shown
    assert found[0].titles[0].id == offer.pool_title_id
    assert suggestions.missed_searches(db_session, staff, date(2026, 12, 1)) == []  # older than 90 days
    with pytest.raises(Forbidden):
        suggestions.missed_searches(db_session, make_staff(db_session, "teacher"), date(2026, 6, 20))


def test_a_query_that_later_found_something_is_not_suggested(rt, db_session):
    _log(rt, [("星の図鑑", 0), ("星の図鑑", 5)])
    make_offer(db_session, title="星の図鑑")
    assert suggestions.missed_searches(db_session, make_staff(db_session), date(2026, 6, 20)) == []


def test_the_suggestions_page(client, rt):
    with rt.db.scope() as session:
        make_offer(session, title="=はらぺこ恐竜")
    counters = UsageCounters(rt.db)
    counters.record_search("恐竜", 0)
    counters.flush()
    sign_in_staff(client, rt, "librarian")
    page = client.get("/staff/selection/suggestions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "恐竜" in html and "=はらぺこ恐竜" in html
