"""Title views, visits and the search query log: counted in memory, written in aggregate, nobody's."""
from datetime import date, datetime, timezone

from sqlalchemy import func, select

from elibrary.usage.counters import UsageCounters, erase_old_salts
from elibrary.usage.models import DaySalt, SearchQueryDay, TitleViewDay, VisitDay, VisitSeen
from tests.lending.factories import make_title


def test_views_visits_and_searches_are_written_as_day_totals(rt):
    counters = UsageCounters(rt.db)
    now = datetime(2026, 6, 10, 3, 0, tzinfo=timezone.utc)
    for _ in range(3):
        counters.record_view(7, now)
        counters.record_visit("site", "198.51.100.1|Firefox|ja", now)  # one visitor: one visit
    counters.record_visit("site", "198.51.100.2|Chrome|ja", now)
    counters.record_search("ﾅﾂﾒ 漱石", 0, now)
    counters.record_search("なつめ  漱石", 0, now)  # the same words, folded
    counters.record_search("こころ", 4, now)
    counters.flush()
    counters.record_visit("site", "198.51.100.1|Firefox|ja", now)  # the same visitor later, maybe another worker
    counters.record_view(7, now)
    UsageCounters(rt.db).flush()
    counters.flush()
    with rt.db.scope() as session:
        assert session.scalar(select(TitleViewDay.views).where(TitleViewDay.title_id == 7)) == 4
        assert session.scalar(select(VisitDay.visits).where(VisitDay.area == "site")) == 2
        rows = {r.query_key: (r.searches, r.zero_hits, r.last_hits) for r in session.scalars(select(SearchQueryDay))}
        assert rows == {"なつめ 漱石": (2, 2, 0), "こころ": (1, 0, 4)}
        assert "198.51" not in repr(session.scalars(select(VisitSeen.visitor)).all())
        assert erase_old_salts(session, date(2026, 6, 11)) == 1
        assert session.scalar(select(func.count()).select_from(VisitSeen)) == 0
        assert session.scalar(select(func.count()).select_from(DaySalt)) == 0


def test_pages_count_visits_title_views_and_searches(app, client, rt):
    with rt.db.scope() as session:
        title_id = make_title(session, title="統計の本").id
    client.get("/", headers={"User-Agent": "Test/1"})
    client.get(f"/titles/{title_id}", headers={"User-Agent": "Test/1"})
    client.get("/search?q=存在しない本のなまえ", headers={"User-Agent": "Test/1"})
    client.get("/static/css/site.css").close()
    rt.usage.flush()
    with rt.db.scope() as session:
        assert session.scalar(select(VisitDay.visits)) == 1
        assert session.scalar(select(TitleViewDay.views).where(TitleViewDay.title_id == title_id)) == 1
        (row,) = session.scalars(select(SearchQueryDay)).all()
        assert (row.shown, row.zero_hits) == ("存在しない本のなまえ", 1)
