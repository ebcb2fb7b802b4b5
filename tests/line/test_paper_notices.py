"""Paper holds ready and overdues polled from a SIP2 ACS become one LINE push each, after quiet hours."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from elibrary.ils.base import PaperItems
from elibrary.ils.sip2.connector import SIP2Connector
from elibrary.line import linking, paper
from elibrary.notify.models import OutboxMessage
from elibrary.patrons.services import add_local_patron, set_email
from tests.line.sip2_acs import PaperACS

NOON_JST = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
NIGHT_JST = datetime(2026, 12, 7, 17, 0, tzinfo=timezone.utc)  # 02:00 in Tokyo, the polling window
CARD = "10203040"
USER = "U" + "4" * 32


@pytest.fixture
def acs():
    server = PaperACS()
    server.port = server.start()
    yield server
    server.close()


@pytest.fixture
def app_config(app_config, acs):
    return {**app_config, "ELIBRARY_NOTIFIER": "line", "ELIBRARY_NOTIFIER_EMAIL": "memory", "ELIBRARY_SIP2_HOST": "127.0.0.1",
            "ELIBRARY_SIP2_PORT": acs.port, "ELIBRARY_SIP2_USER": "elibrary", "ELIBRARY_SIP2_PASSWORD": "x"}


@pytest.fixture
def sip2(rt):
    connector = SIP2Connector.from_settings(rt.settings)
    yield connector
    connector.close()


def _linked(rt, card=CARD, user=USER):
    with rt.db.scope() as session:
        patron = add_local_patron(session, rt.cipher, card, "pass-1234")
        set_email(patron, rt.cipher, "reader@example.jp")
        linking.link(session, rt.cipher, patron, user)
        return patron.id


def _poll(rt, ils, at):
    return paper.poll(rt.db, ils, rt.cipher, now=lambda: at, budget_seconds=60, workers=2)


def test_sip2_connector_reads_holds_and_overdues(sip2, acs):
    acs.holds[CARD] = ["3100123"]
    acs.overdue[CARD] = ["3100456", "3100789"]
    assert sip2.paper_items(CARD) == PaperItems(holds_ready=("3100123",), overdue=("3100456", "3100789"))
    assert sip2.paper_items("99999999") == PaperItems()  # unknown card: nothing


def test_hold_ready_and_overdue_push_once_each_after_quiet_hours(rt, sip2, acs, fake_line):
    _linked(rt)
    acs.holds[CARD], acs.overdue[CARD] = [], []
    rt.notifier.clock = lambda: NIGHT_JST
    assert _poll(rt, sip2, NIGHT_JST).notices == 0
    acs.holds[CARD] = ["3100123"]  # the hold arrives at the counter
    report = _poll(rt, sip2, NIGHT_JST)
    assert (report.polled, report.notices, report.failed) == (1, 1, 0)
    assert fake_line.pushes == []  # 02:00: quiet hours, the push waits for the morning
    with rt.db.scope(write=False) as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "line")).one()
        assert row.deliver_after == datetime(2026, 12, 7, 23, 0, tzinfo=timezone.utc) and row.attempts == 0
    assert _poll(rt, sip2, NIGHT_JST).notices == 0  # polled again: the same hold is not news
    acs.overdue[CARD] = ["3100456"]  # a paper book becomes overdue
    assert _poll(rt, sip2, NIGHT_JST).notices == 1

    rt.notifier.clock = lambda: NOON_JST  # morning: both go out, once each
    with rt.db.scope() as session:
        for row in session.scalars(select(OutboxMessage)):
            row.deliver_after = datetime(2000, 1, 1, tzinfo=timezone.utc)
    rt.deliver_notifications()
    texts = [p["body"]["messages"][0]["text"] for p in fake_line.pushes]
    assert len(texts) == 2
    assert any("カウンターでお受け取り" in t for t in texts) and any("返却期限を過ぎている" in t for t in texts)
    assert all("3100" not in t and CARD not in t for t in texts)
    rt.deliver_notifications()
    assert len(fake_line.pushes) == 2


def test_an_item_leaving_the_list_can_be_notified_again_later(rt):
    patron_id = _linked(rt)
    with rt.db.scope() as session:
        assert paper.apply(session, rt.cipher, patron_id, PaperItems(overdue=("A1",)), NOON_JST) == 1
        assert paper.apply(session, rt.cipher, patron_id, PaperItems(overdue=("A1",)), NOON_JST) == 0
        assert paper.apply(session, rt.cipher, patron_id, PaperItems(), NOON_JST) == 0  # returned
        assert paper.apply(session, rt.cipher, patron_id, PaperItems(overdue=("A1",)), NOON_JST) == 1  # borrowed and late again


def test_ils_down_counts_failures_and_connectors_without_the_capability_are_skipped(rt):
    _linked(rt)
    rt.ils.down = True  # the line tests' fake ILS has the capability
    report = _poll(rt, rt.ils, NOON_JST)
    assert (report.polled, report.failed, report.notices) == (1, 1, 0)

    class AuthOnly:
        def authenticate(self, card, pin):
            raise NotImplementedError

    assert paper.poll(rt.db, AuthOnly(), rt.cipher).polled == 0


def test_budget_stops_a_pass_and_the_next_pass_continues(rt):
    for n in range(5):
        _linked(rt, card=f"5550{n:04d}", user=f"U{n + 100:032x}")
    ticks = iter(range(100))
    first = paper.poll(rt.db, rt.ils, rt.cipher, now=lambda: NOON_JST, budget_seconds=1.5, batch=2, clock=lambda: next(ticks))
    assert first.stopped_by_budget and first.polled == 2
    later = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)
    second = paper.poll(rt.db, rt.ils, rt.cipher, now=lambda: later, budget_seconds=100, batch=2)
    assert second.polled == 5 and not second.stopped_by_budget


def test_cli_poll_respects_the_window(rt, runner, app):
    from datetime import timedelta

    from elibrary.line.notifier import TOKYO

    _linked(rt)
    rt.ils.paper[CARD] = PaperItems(holds_ready=("X1",))
    now = datetime.now(TOKYO)
    app.extensions["elibrary"].settings["ELIBRARY_LINE_POLL_WINDOW"] = f"{(now + timedelta(hours=2)):%H:%M}-{(now + timedelta(hours=3)):%H:%M}"
    refused = runner.invoke(args=["line", "poll"])
    assert refused.exit_code != 0 and "--anytime" in refused.output
    done = runner.invoke(args=["line", "poll", "--anytime"])
    assert done.exit_code == 0 and "polled 1, notices 1, failed 0" in done.output
