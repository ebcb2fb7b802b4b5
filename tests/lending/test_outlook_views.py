"""What a patron may do is shown before they tap: title pages, search results, shelves, マイ本棚, return confirmation."""
from __future__ import annotations

import re
from datetime import timedelta

from elibrary.catalog.models import Audience
from elibrary.db import utcnow
from elibrary.lending import outlook, services
from tests.lending.factories import make_licensed_title, make_patron, make_title
from tests.lending.test_views import setup, sign_in


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_a_title_without_a_file_says_so_and_offers_no_borrow_button(client, rt):
    with rt.db.scope() as session:
        title_id = make_licensed_title(session, "one-copy", None, with_file=False).id
    _, (patron_id, _) = setup(rt)
    sign_in(client, f"p:{patron_id}")
    page = text(client.get(f"/titles/{title_id}"))
    assert "読むためのファイルが準備中のため、まだ借りられません" in page
    assert f'action="/titles/{title_id}/borrow"' not in page and "無料で読めます" not in page
    refused = client.post(f"/titles/{title_id}/borrow", data={"csrf_token": sign_in(client, f"p:{patron_id}"), "next": f"/titles/{title_id}"})
    assert refused.status_code in (303, 409)


def test_an_open_title_without_a_file_does_not_claim_to_be_free_to_read(client, rt):
    with rt.db.scope() as session:
        title_id = make_licensed_title(session, "open", with_file=False).id
    page = text(client.get(f"/titles/{title_id}"))
    assert "無料で読めます" not in page and "準備中" in page


def test_a_pupil_sees_before_tapping_that_a_general_title_is_not_for_their_card(client, rt):
    with rt.db.scope() as session:
        general = make_licensed_title(session, "concurrent", 1).id
        pupil = make_patron(session, rt.cipher, category="student")
        card = f"C{pupil.id}"
        pupil.card_hash, pupil.card_enc = rt.cipher.lookup_hash(card), rt.cipher.encrypt(card, "patron.card")
        from werkzeug.security import generate_password_hash

        pupil.pin_hash = generate_password_hash("2468")
        pupil_id = pupil.id
    sign_in(client, f"p:{pupil_id}")
    page = text(client.get(f"/titles/{general}"))
    assert "借りられません" in page and "対象外の資料です" in page
    assert f'action="/titles/{general}/borrow"' not in page


def test_search_results_show_availability_and_the_queue_without_opening_titles(client, rt):
    title_id, (reader, waiting) = setup(rt, "one-copy")
    with rt.db.scope() as session:
        free_id = make_licensed_title(session, "concurrent", 2, title="すぐ読める本").id
        services.borrow(session, session.get(services.Patron, reader), title_id)
        services.place_hold(session, session.get(services.Patron, waiting), title_id)
    page = text(client.get("/search?q=本"))
    assert "すぐ借りられる" in page and "予約 1人待ち" in page
    sign_in(client, f"p:{waiting}")
    page = text(client.get("/search?q=本"))
    assert "予約中・1番目" in page and "すぐ借りられる" in page
    assert free_id


def test_outlooks_for_a_page_take_a_fixed_number_of_queries(db_session):
    from sqlalchemy import event

    patron = make_patron(db_session)
    few = [make_licensed_title(db_session).id for _ in range(2)]
    many = [make_licensed_title(db_session).id for _ in range(12)] + [make_title(db_session).id]
    counts = []
    outlook.outlooks(db_session, few, patron)  # the category policy is cached per process after its first read
    for ids in (few, many):
        statements = []
        engine = db_session.get_bind().engine
        listener = lambda *args, kept=statements: kept.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            outlook.outlooks(db_session, ids, patron)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_a_patron_over_the_loan_limit_is_told_before_tapping(db_session):
    patron = make_patron(db_session, category="student")
    titles = [make_licensed_title(db_session, "concurrent", 5) for _ in range(4)]
    for title in titles:
        title.audience = Audience.children
    db_session.flush()
    for title in titles[:3]:
        services.borrow(db_session, patron, title.id)
    seen = outlook.outlook(db_session, titles[3].id, patron)
    assert seen.state == "cannot" and seen.reason == "max-loans" and "3冊まで" in seen.reason_ja


def test_shelf_is_cards_with_a_ready_hold_that_offers_no_suspend(client, rt):
    title_id, (reader, waiting) = setup(rt, "one-copy")
    with rt.db.scope() as session:
        loan = services.borrow(session, session.get(services.Patron, reader), title_id)
        services.place_hold(session, session.get(services.Patron, waiting), title_id)
        services.return_loan(session, session.get(services.Patron, reader), loan.id)
    sign_in(client, f"p:{waiting}")
    page = text(client.get("/shelf"))
    assert 'class="shelf-cards"' in page and "<table" not in page
    assert "取り置き中" in page and "休止する" not in page and "予約の本が借りられます" in page
    home = text(client.get("/"))
    assert "予約の本が借りられます" in home and "まで取り置きます" in home


def test_returning_early_asks_once(client, rt):
    title_id, (reader, _) = setup(rt, "one-copy")
    token = sign_in(client, f"p:{reader}")
    client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token})
    with rt.db.scope() as session:
        loan_id = services.active_loan(session, reader, title_id).id
    page = text(client.get("/shelf"))
    assert f'href="/loans/{loan_id}/return"' in page
    question = text(client.get(f"/loans/{loan_id}/return"))
    assert "返却すると、もう読めなくなります" in question
    with rt.db.scope() as session:
        assert services.active_loan(session, reader, title_id) is not None  # asking returned nothing
    done = client.post(f"/loans/{loan_id}/return", data={"csrf_token": token, "next": "/shelf"})
    assert done.status_code == 303
    with rt.db.scope() as session:
        assert services.active_loan(session, reader, title_id) is None


def test_dates_are_written_as_people_read_them(client, rt):
    title_id, (reader, _) = setup(rt, "one-copy")
    token = sign_in(client, f"p:{reader}")
    client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token})
    page = text(client.get("/shelf"))
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page)
    due = (utcnow() + timedelta(days=14)).astimezone(services.policy.TOKYO)
    assert f"{due.month}月{due.day}日（" in page
    english = text(client.get("/shelf?lang=en"))
    assert re.search(r"Due: \d{1,2} [A-Z][a-z]{2} \d{2}:\d{2}", english)


def test_shelf_never_offers_a_read_link_that_would_404(client, rt):
    from sqlalchemy import delete

    from elibrary.catalog.models import BookFile

    title_id, (reader, _) = setup(rt, "one-copy")
    token = sign_in(client, f"p:{reader}")
    client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token})
    with rt.db.scope() as session:
        session.execute(delete(BookFile).where(BookFile.title_id == title_id))  # the file went after the loan began
    page = text(client.get("/shelf"))
    assert f'href="/read/{title_id}"' not in page and "ファイル準備中" in page
