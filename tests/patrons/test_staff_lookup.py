"""Staff look-up of patrons: role check, POSTed card numbers, and an access-log entry for each access."""
from sqlalchemy import select

from elibrary.audit.models import AccessLogEntry
from elibrary.patrons.services import add_local_patron, find_by_card, notification_address
from tests.conftest import csrf_token_for, sign_in_staff


def test_lookup_view_and_change_are_logged(client, rt):
    with rt.db.scope() as session:
        add_local_patron(session, rt.cipher, "20240001", "2468", name="山田 花子")
    sign_in_staff(client, rt, "librarian")
    home = client.get("/staff/")
    assert "利用者の照会" in home.get_data(as_text=True) and "/staff/audit" not in home.get_data(as_text=True)
    token = csrf_token_for(client)
    found = client.post("/staff/patrons/", data={"card": "２０２４-０００１", "csrf_token": token})
    assert found.status_code == 200 and "山田 花子" in found.get_data(as_text=True)
    missing = client.post("/staff/patrons/", data={"card": "99999999", "csrf_token": token})
    assert missing.status_code == 200 and "該当する利用者はいません" in missing.get_data(as_text=True)
    with rt.db.scope() as session:
        patron_id = find_by_card(session, rt.cipher, "20240001").id
    changed = client.post(f"/staff/patrons/{patron_id}/email", data={"email": "ｈａｎａｋｏ@Example.jp", "csrf_token": token})
    assert changed.status_code == 200
    bad = client.post(f"/staff/patrons/{patron_id}/email", data={"email": "nope", "csrf_token": token})
    assert bad.status_code == 400 and "山田" not in bad.get_data(as_text=True)
    with rt.db.scope() as session:
        assert notification_address(session, rt.cipher, find_by_card(session, rt.cipher, "20240001")) == "hanako@example.jp"
        entries = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)).all()
        assert [(e.action, e.patron_id) for e in entries] == [
            ("search", patron_id), ("view", patron_id), ("search", None), ("change", patron_id), ("view", patron_id)
        ]
        assert all(e.staff_email == "librarian@city.example.jp" and e.address == "127.0.0.1" for e in entries)


def test_teachers_cannot_look_up_patrons(client, rt):
    sign_in_staff(client, rt, "teacher")
    assert client.get("/staff/patrons/").status_code == 403
