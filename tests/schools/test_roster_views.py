"""The staff roster pages: upload → dry run → confirm, who may use them, and the template download."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from elibrary.audit.models import AccessLogEntry
from elibrary.patrons.models import Patron
from elibrary.schools import accounts
from elibrary.schools.models import Member
from tests.conftest import csrf_token_for, sign_in_staff
from tests.schools.conftest import roster_csv
from tests.slow_work import SlowWork

ROWS = [("0101", 3, 2, 1, "髙橋 﨑子", "", "", "児童"), ("0101", 3, 2, 2, "", "", "", "児童"), ("9999", 1, 1, 1, "", "", "", "児童")]


def upload(client, token, data: bytes, name="roster.csv"):
    return client.post("/admin/schools/roster", data={"csrf_token": token, "roster": (io.BytesIO(data), name), "year": "2026", "school": ""},
                       content_type="multipart/form-data")


def test_upload_check_and_confirm(client, rt, schools):
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    page = client.get("/admin/schools/roster")
    assert page.status_code == 200 and "名簿の取り込み" in page.text
    checked = upload(client, token, roster_csv(ROWS))
    assert checked.status_code == 200
    assert 'data-count="new">2<' in checked.text and 'data-count="rejected">1<' in checked.text
    assert "学校コード「9999」は登録されていません" in checked.text and "<td>4</td>" in checked.text
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 0
    roster_token = re.search(r'name="token" value="([^"]+)"', checked.text).group(1)
    done = client.post("/admin/schools/roster/confirm", data={"csrf_token": token, "token": roster_token, "year": "2026", "school": ""})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    passwords = re.findall(r"<td><code>([a-z2-9]{8})</code></td><td><code>([a-z2-9]{8})</code></td>", done.text)
    assert len(passwords) == 2
    assert "髙橋" not in done.text  # names are not shown with passwords
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 2
        assert session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.subject == "school-roster")) == 1
    again = client.post("/admin/schools/roster/confirm", data={"csrf_token": token, "token": roster_token, "year": "2026", "school": ""})
    assert again.status_code == 400 and "もう一度アップロードしてください" in again.text  # a checked file is imported once


def test_a_refused_file_is_a_clear_message(client, rt, schools):
    sign_in_staff(client, rt, "admin")
    token = csrf_token_for(client)
    page = upload(client, token, b"PK\x03\x04garbage", "roster.zip")
    assert page.status_code == 400 and "ZIP ファイルとして読めません" in page.text


def test_teachers_and_patrons_cannot_import(client, rt, schools):
    sign_in_staff(client, rt, "teacher")
    assert client.get("/admin/schools/roster").status_code == 403


def test_template_download(client, rt):
    sign_in_staff(client, rt, "librarian")
    response = client.get("/admin/schools/roster/template.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert response.data.decode("utf-8-sig").splitlines()[0] == "学校コード,学年,組,出席番号,氏名,ふりがな,ログインID,種別"


def test_rollover_wizard_preview_confirm_undo(client, rt, schools):
    from elibrary.schools import services
    from elibrary.schools.directory import Actor

    with rt.db.scope() as session:
        services.import_roster(session, rt.cipher, roster_csv([("0101", 5, 1, 1, "", "", "", "児童"), ("0101", 6, 1, 1, "", "", "", "児童")]),
                               Actor(), year=2026, dry_run=False)
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    assert client.get("/admin/schools/rollover").status_code == 200
    new_roster = roster_csv([("0101", 1, 1, 1, "", "", "", "児童")])
    preview = client.post("/admin/schools/rollover", data={"csrf_token": token, "year": "2027", "roster": (io.BytesIO(new_roster), "r.csv")},
                          content_type="multipart/form-data")
    assert preview.status_code == 200
    assert 'data-count="promote">1<' in preview.text and 'data-count="graduate">1<' in preview.text and 'data-count="new">1<' in preview.text
    roster_token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    done = client.post("/admin/schools/rollover/confirm", data={"csrf_token": token, "year": "2027", "token": roster_token})
    assert done.status_code == 200 and len(re.findall(r"<td><code>", done.text)) == 2  # one first-year: login id and password
    page = client.get("/admin/schools/rollover")
    assert "この年度更新を取り消す" in page.text
    undone = client.post("/admin/schools/rollover/undo", data={"csrf_token": token})
    assert undone.status_code == 303
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 2


def _signs_in(rt, login_id: str, password: str) -> bool:
    """Whether the account's stored hash takes the password printed on its card."""
    with rt.db.scope(write=False) as session:
        member = session.scalar(select(Member).where(Member.login_id == login_id))
        return check_password_hash(session.get(Patron, member.patron_id).pin_hash, password)


def test_sign_ins_and_loans_go_on_while_a_confirmed_roster_is_hashed(client, rt, schools, monkeypatch):
    """3,000 new accounts' passwords take seconds to hash: no writing transaction is open meanwhile (on SQLite
    every sign-in and loan would wait for its lock)."""
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    checked = upload(client, token, roster_csv(ROWS[:2]))
    roster_token = re.search(r'name="token" value="([^"]+)"', checked.text).group(1)
    slow, answers = SlowWork(), []
    monkeypatch.setattr(accounts, "hash_passwords", slow.wrap(accounts.hash_passwords))
    seconds, still_hashing = slow.write_during(
        lambda: answers.append(client.post("/admin/schools/roster/confirm",
                                           data={"csrf_token": token, "token": roster_token, "year": "2026", "school": ""})), rt,
        update(Patron).where(Patron.id == -1).values(blocked=False))  # another request's write
    assert still_hashing and seconds < 5, seconds
    assert answers[0].status_code == 200
    issued = re.findall(r"<td><code>([a-z2-9]{8})</code></td><td><code>([a-z2-9]{8})</code></td>", answers[0].text)
    assert len(issued) == 2 and all(_signs_in(rt, login_id, password) for login_id, password in issued)


def test_sign_ins_and_loans_go_on_while_a_rollovers_new_roster_is_hashed(client, rt, schools, monkeypatch):
    from elibrary.schools import services
    from elibrary.schools.directory import Actor

    with rt.db.scope() as session:
        services.import_roster(session, rt.cipher, roster_csv([("0101", 5, 1, 1, "", "", "", "児童")]), Actor(), year=2026, dry_run=False)
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    preview = client.post("/admin/schools/rollover", data={"csrf_token": token, "year": "2027",
                                                           "roster": (io.BytesIO(roster_csv([("0101", 1, 1, 1, "", "", "", "児童")])), "r.csv")},
                          content_type="multipart/form-data")
    roster_token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    slow, answers = SlowWork(), []
    monkeypatch.setattr(accounts, "hash_passwords", slow.wrap(accounts.hash_passwords))
    seconds, still_hashing = slow.write_during(
        lambda: answers.append(client.post("/admin/schools/rollover/confirm", data={"csrf_token": token, "year": "2027", "token": roster_token})),
        rt, update(Patron).where(Patron.id == -1).values(blocked=False))
    assert still_hashing and seconds < 5, seconds
    assert answers[0].status_code == 200
    issued = re.findall(r"<td><code>([a-z2-9]{8})</code></td><td><code>([a-z2-9]{8})</code></td>", answers[0].text)
    assert len(issued) == 1 and _signs_in(rt, *issued[0])


def test_the_command_hashes_before_it_writes(runner, rt, schools, monkeypatch, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(roster_csv(ROWS[:2]))
    slow, outputs = SlowWork(), []
    monkeypatch.setattr(accounts, "hash_passwords", slow.wrap(accounts.hash_passwords))
    seconds, still_hashing = slow.write_during(
        lambda: outputs.append(runner.invoke(args=["schools", "import-roster", str(roster), "--year", "2026"])), rt,
        update(Patron).where(Patron.id == -1).values(blocked=False))
    assert still_hashing and seconds < 5, seconds
    assert outputs[0].exit_code == 0, outputs[0].output
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count(Member.id))) == 2


def test_passwords_made_beforehand_are_used_and_any_lacking_are_made(rt, schools):
    """The roster may create more accounts than when the passwords were made (or fewer): each account gets a
    password whose hash it stores, and unused ones are dropped."""
    from elibrary.schools import services
    from elibrary.schools.directory import Actor

    before = accounts.fresh_passwords(1)
    with rt.db.scope() as session:
        _, result = services.import_roster(session, rt.cipher, roster_csv(ROWS[:2]), Actor(), year=2026, dry_run=False, passwords=before)
    issued = [(c.login_id, c.password) for c in result.credentials]
    assert len(issued) == 2 and before[0][0] in {password for _, password in issued}
    assert all(_signs_in(rt, login_id, password) for login_id, password in issued)
    spare = accounts.fresh_passwords(3)
    with rt.db.scope() as session:
        _, result = services.import_roster(session, rt.cipher, roster_csv([("0102", 1, 1, 1, "", "", "", "児童")]), Actor(), year=2026,
                                           school_code="0102", dry_run=False, passwords=spare)
    assert [c.password for c in result.credentials] == [spare[0][0]] and _signs_in(rt, result.credentials[0].login_id, spare[0][0])
