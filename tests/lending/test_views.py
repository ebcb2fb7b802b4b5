"""マイ本棚 and the lending actions through HTTP: CSRF, flash messages, staff pages."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from elibrary.lending.models import Hold, Loan
from elibrary.staff.models import Role, StaffUser
from tests.conftest import csrf_token_for
from tests.lending.factories import make_licensed_title, make_patron


def sign_in(client, user_id: str) -> str:
    """Patrons sign in through /login (card = "C<id>", PIN 2468); staff through the session."""
    token = csrf_token_for(client)
    kind, _, raw = user_id.partition(":")
    if kind == "p":
        client.post("/logout", data={"csrf_token": token})
        token = csrf_token_for(client)
        response = client.post("/login", data={"card": f"C{raw}", "pin": "2468", "csrf_token": token})
        assert response.status_code == 303
        return csrf_token_for(client)
    from flask_login.utils import _create_identifier

    from elibrary.security import sessions

    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.application.extensions["elibrary"].db.scope() as session:
        sid = sessions.start(session, user_id)
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["_sid"] = sid
        sess["_fresh"] = True
        sess["_id"] = identifier
    return token


def setup(rt, model="one-copy", copies=None):
    with rt.db.scope() as session:
        title = make_licensed_title(session, model, copies)
        patrons = []
        for _ in range(2):
            patron = make_patron(session, rt.cipher)
            card = f"C{patron.id}"
            patron.card_hash, patron.card_enc = rt.cipher.lookup_hash(card), rt.cipher.encrypt(card, "patron.card")
            patron.pin_hash = generate_password_hash("2468")
            patrons.append(patron)
        return title.id, [p.id for p in patrons]


def test_borrow_read_renew_return_from_the_shelf(client, rt):
    title_id, (patron_id, _) = setup(rt, "concurrent", 2)
    token = sign_in(client, f"p:{patron_id}")
    response = client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token, "next": f"/titles/{title_id}"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/titles/{title_id}")
    page = client.get("/shelf").get_data(as_text=True)
    assert "借りました" in page and "マイ本棚" in page and "延長する" in page and "返却する" in page
    assert f'href="/read/{title_id}"' in page  # 読む opens the browser reader
    with rt.db.scope() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.patron_id == patron_id))
    assert client.post(f"/loans/{loan_id}/renew", data={"csrf_token": token}).status_code == 303
    assert "延長しました" in client.get("/shelf").get_data(as_text=True)
    assert client.post(f"/loans/{loan_id}/return", data={"csrf_token": token}).status_code == 303
    page = client.get("/shelf").get_data(as_text=True)
    assert "返却しました" in page and "借りている本はありません" in page


def test_refusal_is_a_flash_message_on_the_page_the_patron_came_from(client, rt):
    title_id, (patron_id, _) = setup(rt, "concurrent", 2)
    token = sign_in(client, f"p:{patron_id}")
    client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token})
    response = client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token}, headers={"Referer": "http://localhost/shelf"})
    assert response.status_code == 303
    assert "この本はすでに借りています" in client.get("/shelf").get_data(as_text=True)
    with rt.db.scope() as session:
        assert len(session.scalars(select(Loan)).all()) == 1


def test_posts_need_the_csrf_token_and_a_patron(client, rt):
    title_id, (patron_id, _) = setup(rt)
    assert client.post(f"/titles/{title_id}/borrow").status_code in (302, 400, 401)
    sign_in(client, f"p:{patron_id}")
    assert client.post(f"/titles/{title_id}/borrow", data={"csrf_token": "wrong"}).status_code == 400
    with rt.db.scope() as session:
        assert session.scalars(select(Loan)).all() == []


def test_hold_then_suspend_and_cancel(client, rt):
    title_id, (reader_id, waiting_id) = setup(rt)
    token = sign_in(client, f"p:{reader_id}")
    client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token})
    token = sign_in(client, f"p:{waiting_id}")
    client.post(f"/titles/{title_id}/hold", data={"csrf_token": token})
    page = client.get("/shelf").get_data(as_text=True)
    assert "予約しました。順番は1番目です。" in page and "順番待ち" in page
    with rt.db.scope() as session:
        hold_id = session.scalar(select(Hold.id))
    bad = client.post(f"/holds/{hold_id}/suspend", data={"csrf_token": token, "until": "2001-01-01"}, headers={"Referer": "http://localhost/shelf"})
    assert bad.status_code == 303 and "明日以降" in client.get("/shelf").get_data(as_text=True)
    assert client.post(f"/holds/{hold_id}/cancel", data={"csrf_token": token}).status_code == 303
    with rt.db.scope() as session:
        assert session.scalars(select(Hold)).all() == []


def test_title_actions_partial_shows_state(app, client, rt):
    title_id, (patron_id, _) = setup(rt)
    token = sign_in(client, f"p:{patron_id}")
    html = _render_partial(app, client, title_id)
    assert "借りる" in html
    client.post(f"/titles/{title_id}/borrow", data={"csrf_token": token})
    html = _render_partial(app, client, title_id)
    assert "借りています" in html and "返却する" in html


def _render_partial(app, client, title_id):
    page = client.get(f"/titles/{title_id}")
    if page.status_code == 200 and "lending-actions" in page.get_data(as_text=True):
        return page.get_data(as_text=True)
    # The OPAC title page may not include the partial yet: render it directly as it would.
    from flask import render_template
    from flask_login import login_user

    from elibrary.catalog.models import Title
    from elibrary.patrons.models import Patron
    from elibrary.web.transactions import db_session

    with client.session_transaction() as sess:
        user_id = int(sess["_user_id"].split(":")[1])
    with app.test_request_context(f"/titles/{title_id}"):
        login_user(db_session().get(Patron, user_id))
        return render_template("lending/_title_actions.html", title=db_session().get(Title, title_id))


def test_staff_pages_show_licences_demand_and_policy(client, rt):
    title_id, (reader_id, waiting_id) = setup(rt)
    with rt.db.scope() as session:
        from elibrary.lending import services
        from elibrary.patrons.models import Patron

        services.borrow(session, session.get(Patron, reader_id), title_id)
        services.place_hold(session, session.get(Patron, waiting_id), title_id)
        staff = StaffUser(email="lib@example.jp", password_hash="x", role=Role.admin, must_change_password=False)
        session.add(staff)
        session.flush()
        staff_id = staff.id
    token = sign_in(client, f"s:{staff_id}")
    page = client.get("/staff/lending/").get_data(as_text=True)
    assert "購入検討リスト" in page and f"/staff/lending/titles/{title_id}" in page
    page = client.get(f"/staff/lending/titles/{title_id}").get_data(as_text=True)
    assert "one-copy" in page and "予約数" in page
    response = client.post(f"/staff/lending/titles/{title_id}", data={"csrf_token": token, "model": "concurrent", "copies": "0"}, headers={"Referer": f"http://localhost/staff/lending/titles/{title_id}"})
    assert response.status_code == 303
    assert "同時貸出数は1以上" in client.get(f"/staff/lending/titles/{title_id}").get_data(as_text=True)
    client.post(f"/staff/lending/titles/{title_id}", data={"csrf_token": token, "model": "metered-loans", "copies": "2", "loans": "26"})
    with rt.db.scope() as session:
        assert session.scalar(select(Hold.state)).value == "ready"  # the new copy went to the waiting patron
    form = {"csrf_token": token, "code": "citizen", "max_loans": "8", "max_holds": "5", "loan_days": "14", "renewals": "1", "hold_ready_days": "3"}
    response = client.post("/staff/lending/policy", data=form)
    assert response.status_code == 303
    assert 'value="8"' in client.get("/staff/lending/policy").get_data(as_text=True)


def test_patron_cannot_see_staff_pages(client, rt):
    _, (patron_id, _) = setup(rt)
    sign_in(client, f"p:{patron_id}")
    assert client.get("/staff/lending/").status_code in (302, 303, 403)
