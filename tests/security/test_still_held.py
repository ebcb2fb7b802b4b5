"""Issue #11: the checks that already held when the review was made, walked end to end so they stay held.

Authorisation between patrons, staff roles, open redirects, XXE and entity bombs in an import, zip slip and
zip bombs in a book file, personal data encrypted at rest, backup files readable only by their owner.
Each is also tested closer to its code; here they go through the web pages and commands a person uses.
Runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import io
import stat
import zipfile
from urllib.parse import urlsplit

from sqlalchemy import text

from elibrary.lending import services as lending
from elibrary.lending.models import Loan
from tests.conftest import csrf_token_for, sign_in_staff
from tests.readers.factories import PIN, make_patron, make_sample


def _sign_in(client, card: str) -> str:
    response = client.post("/login", data={"card": card, "pin": PIN, "csrf_token": csrf_token_for(client)})
    assert response.status_code == 303
    return csrf_token_for(client)


def _borrowed(rt):
    """Patron A holds a loan of a licensed book; patron B exists."""
    with rt.db.scope() as session:
        title = make_sample(session, rt.storage)
        a, _card_a = make_patron(session, rt.cipher)
        _b, card_b = make_patron(session, rt.cipher)
        loan = lending.borrow(session, a, title.id)
        return title.id, loan.id, card_b


def test_a_patron_cannot_return_renew_or_read_another_patrons_loan(client, rt):
    title_id, loan_id, card_b = _borrowed(rt)
    token = _sign_in(client, card_b)
    for action in ("return", "renew"):
        client.post(f"/loans/{loan_id}/{action}", data={"csrf_token": token})
    with rt.db.scope(write=False) as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None and loan.renewals == 0  # still A's, untouched
    assert client.get(f"/read/{title_id}").status_code == 403  # B never borrowed it
    assert client.get(f"/read/{title_id}/content-token").status_code == 403


def test_staff_roles_hold_the_personal_data_access_log_for_admins(client, rt):
    sign_in_staff(client, rt, "librarian")
    assert client.get("/staff/audit/").status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get("/staff/audit/").status_code in (302, 303, 401, 403)


def test_sign_in_never_redirects_off_the_site(client, rt):
    with rt.db.scope() as session:
        _patron, card = make_patron(session, rt.cipher)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.get("/logout")
        response = client.post(f"/login?next={target}", data={"card": card, "pin": PIN, "csrf_token": csrf_token_for(client)})
        assert response.status_code == 303
        location = urlsplit(response.headers["Location"])
        assert location.netloc in ("", "localhost") and location.scheme in ("", "http"), location  # stays on the site


def test_an_import_with_external_or_expanding_entities_is_refused(runner, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:THE-SECRET")
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE ONIXMessage [<!ENTITY xxe SYSTEM "file://{secret}">]>
<ONIXMessage release="3.0"><Product><RecordReference>x</RecordReference>
<DescriptiveDetail><TitleDetail><TitleElement><TitleText>&xxe;</TitleText></TitleElement></TitleDetail></DescriptiveDetail></Product></ONIXMessage>""")
    bomb = tmp_path / "bomb.xml"
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcde", "bcdef", strict=True))
    bomb.write_text(f"""<?xml version="1.0"?><!DOCTYPE ONIXMessage [{entities}]>
<ONIXMessage release="3.0"><Product><DescriptiveDetail><TitleDetail><TitleElement><TitleText>&f;&f;</TitleText>
</TitleElement></TitleDetail></DescriptiveDetail></Product></ONIXMessage>""")
    for path in (xxe, bomb):
        result = runner.invoke(args=["import", "onix", str(path)])
        assert "THE-SECRET" not in result.output and "aaaaaaaaaa" not in result.output
        assert "entit" in result.output.lower() or "エンティティ" in result.output


def _epub(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_book_files_that_escape_their_folder_or_explode_are_refused_on_import(runner, tmp_path):
    container = (b'<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
                 b'<rootfile full-path="OPS/p.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
    slip = tmp_path / "slip.epub"
    slip.write_bytes(_epub({"META-INF/container.xml": container, "../../evil.xhtml": b"x"}))
    bomb = tmp_path / "bomb.epub"
    bomb.write_bytes(_epub({"META-INF/container.xml": container, "OPS/bomb.xhtml": b"\0" * (20 * 1024 * 1024)}))
    for path in (slip, bomb):
        result = runner.invoke(args=["import", "epub", str(path)])
        assert "rejected 1" in result.output or "却下" in result.output or result.exit_code != 0, result.output
    assert not (tmp_path.parent / "evil.xhtml").exists() and not (tmp_path / "evil.xhtml").exists()


def test_personal_data_is_encrypted_at_rest(rt):
    with rt.db.scope() as session:
        from elibrary.patrons.services import add_local_patron

        add_local_patron(session, rt.cipher, "77770001", "2468", name="秘密 花子")
    with rt.db.engine.connect() as connection:
        rows = connection.execute(text("SELECT card_enc, name_enc FROM patrons")).all()
    stored = b"".join(bytes(value) for row in rows for value in row if value is not None)
    assert "秘密".encode() not in stored and b"77770001" not in stored


def test_a_backup_is_readable_only_by_its_owner(runner, rt, tmp_path):
    result = runner.invoke(args=["backup", "create", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    (backup,) = (tmp_path / "backups").glob("*.tar")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
