"""Sign-in cards: `elibrary schools cards` makes an A4 PDF whose QR codes (read back with jsQR) sign the pupils in."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from elibrary.db import utcnow
from elibrary.patrons.models import Patron
from elibrary.schools import accounts, cards, signin_tokens
from elibrary.schools.directory import current_school_year
from tests.conftest import csrf_token_for
from tests.schools.signin_factories import make_class, make_pupil, make_school, make_year
from tests.slow_work import SlowWork

JSQR = Path(__file__).resolve().parents[2] / "readers" / "node_modules" / "jsqr" / "dist" / "jsQR.js"
# Where the cards sit on a page rendered at 150 dpi: the table of reports.pdf's frame, 250 × 146 pt cells.
CARD_GRID = ("99", "96", "521", "304")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:reportlab")


@pytest.fixture
def class_3_2(rt):
    with rt.db.scope() as session:
        school = make_school(session, "S001", "みどり小学校")
        year = make_year(session, current_school_year(utcnow()))
        room = make_class(session, school, year, 3, "2")
        other = make_class(session, school, year, 4, "1")
        for n in range(1, 13):
            make_pupil(session, rt.cipher, school, f"pupil{n:03d}", school_class=room, year=year, number=n)
        make_pupil(session, rt.cipher, school, "other001", school_class=other, year=year, number=1)


def _text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_cards_of_a_class_carry_login_ids_new_passwords_and_working_qr_codes(app, rt, runner, class_3_2, tmp_path):
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["schools", "cards", "--school", "S001", "--class", "3-2", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 cards written" in result.output
    reader = PdfReader(str(out))
    assert len(reader.pages) == 2 and reader.pages[0].mediabox.height == pytest.approx(841.89, abs=1)  # A4, 10 + 2
    text = _text(out)
    assert "みどり小学校" in text and "3年2組 1番" in text and "pupil012" in text and "other001" not in text
    password = text.split("pupil001")[1].split("パスワード")[1].split()[0]
    client = app.test_client()
    signed_in = client.post("/login", data={"card": "pupil001", "pin": password, "csrf_token": csrf_token_for(client)})
    assert signed_in.status_code == 303, "the printed password signs in"


def test_sign_ins_go_on_while_the_command_hashes_a_schools_new_passwords(app, rt, runner, class_3_2, tmp_path, monkeypatch):
    """A whole school's cards (1,000 new passwords take seconds to hash): the hashing runs before the writing
    transaction, so on SQLite sign-ins and loans do not wait for it; the printed passwords sign in."""
    out, slow, outputs = tmp_path / "cards.pdf", SlowWork(), []
    monkeypatch.setattr(accounts, "hash_passwords", slow.wrap(accounts.hash_passwords))
    seconds, still_hashing = slow.write_during(
        lambda: outputs.append(runner.invoke(args=["schools", "cards", "--school", "S001", str(out)])), rt,
        update(Patron).where(Patron.id == -1).values(blocked=False))  # another request's write
    assert still_hashing and seconds < 5, seconds
    assert outputs[0].exit_code == 0 and "13 cards written" in outputs[0].output, outputs[0].output
    password = _text(out).split("other001")[1].split("パスワード")[1].split()[0]
    client = app.test_client()
    assert client.post("/login", data={"card": "other001", "pin": password, "csrf_token": csrf_token_for(client)}).status_code == 303


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("node") is None or not JSQR.exists(),
                    reason="needs pdftoppm (poppler-utils), node and readers/node_modules (make frontend)")
def test_the_printed_qr_codes_read_back_and_sign_in_and_a_reprint_revokes_them(app, rt, runner, class_3_2, tmp_path):
    out = tmp_path / "cards.pdf"
    assert runner.invoke(args=["schools", "cards", "--school", "S001", "--class", "3-2", "--keep-passwords", str(out)]).exit_code == 0
    assert "かわっていません" in _text(out)
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.pgm"))
    decoded = subprocess.run(["node", str(Path(__file__).with_name("decode_qr.mjs")), str(page), *CARD_GRID], check=True, capture_output=True,
                             text=True, env={"JSQR_PATH": str(JSQR), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert len(decoded) == 10 and all(url.startswith("http://127.0.0.1:5000/school/qr#") for url in decoded)
    token = decoded[0].split("#", 1)[1]
    client = app.test_client()
    client.get("/school/qr")
    with client.session_transaction() as sess:
        csrf = sess["_csrf"]
    assert client.post("/school/qr", data={"token": token, "csrf_token": csrf}).status_code == 303
    assert runner.invoke(args=["schools", "cards", "--school", "S001", "--class", "3-2", "--keep-passwords", str(out)]).exit_code == 0
    with rt.db.scope() as session:
        with pytest.raises(signin_tokens.RevokedToken):
            signin_tokens.patron_for_token(session, rt.cipher, token)


def test_bad_class_and_unknown_school_are_one_line_errors(runner, class_3_2, tmp_path):
    bad = runner.invoke(args=["schools", "cards", "--school", "S001", "--class", "3年2組", str(tmp_path / "x.pdf")])
    assert bad.exit_code != 0 and "学年-組" in bad.output
    unknown = runner.invoke(args=["schools", "cards", "--school", "NOPE", str(tmp_path / "x.pdf")])
    assert unknown.exit_code != 0 and not (tmp_path / "x.pdf").exists()


def test_teachers_manage_only_their_own_school():
    class Staff:
        def __init__(self, role, school_code=None):
            self.role, self.school_code = role, school_code

    assert cards.may_manage_school(Staff("librarian"), "S002")
    assert cards.may_manage_school(Staff("teacher", "S001"), "S001")
    assert not cards.may_manage_school(Staff("teacher", "S001"), "S002")
    assert not cards.may_manage_school(Staff("teacher"), "S001")
