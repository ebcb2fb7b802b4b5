"""A full run through a real gunicorn, then a grep of every log and of the app server's folders for planted values.

Canary card numbers, PINs, passwords, tokens, names and addresses go through the patron sign-in form (right
and wrong), OPDS Basic authentication (right and wrong), a search, a loan, online registration with its
e-mailed link (a real SMTP server on the loopback), and the staff sign-in with a wrong password and a wrong
authenticator code. Afterwards none of them may be found in:

- the JSON app log (``ELIBRARY_LOG_FILE``), gunicorn's access log and its error output;
- the app server's folders in the two-tier layout (docs/operations.md): the instance folder (the database
  lives elsewhere, as on a database host in the internal segment), the log folder and ``TMPDIR``.

The logs must also show that the run happened (JSON lines with request ids, the security events), so the
grep cannot pass on an empty file.
"""
from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import httpx
import pyotp
import pytest
from aiosmtpd.controller import Controller
from werkzeug.security import generate_password_hash

from elibrary import create_app
from elibrary.staff import totp
from elibrary.staff.services import add_staff
from tests.conftest import make_test_config
from tests.lending.factories import make_licensed_title
from tests.monitoring.servers import free_port, gunicorn

CARD, PIN, NAME = "73310042", "5193", "カナリア太郎"
STAFF_EMAIL, STAFF_PASSWORD = "canary-staff@city.example.jp", "Canary-Staff-Pass-4471"
REG_PIN = "kana7391pin"
FORM = {
    "name": "鳴鳥　花子",
    "kana": "なきどり はなこ",
    "birth_date": "1999-09-19",
    "postal_code": "650-0001",
    "address": "兵庫県神戸市中央区鳴鳥町９－９－９",
    "phone": "078-999-1357",
    "email": "canary.hanako@example.jp",
}
SEARCH_WORDS = "カナリアの秘密の本"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


def csrf(client: httpx.Client, path: str = "/login") -> str:
    page = client.get(path).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def basic(card: str, pin: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{card}:{pin}".encode()).decode(), "Accept": "application/opds+json"}


def drive(base: str, inbox: Inbox, title_id: int, totp_secret: str) -> list[str]:
    """The run; returns values that came up on the way (the registration token, the issued card)."""
    found = []
    with httpx.Client(base_url=base, timeout=60) as patron:
        assert patron.post("/login", data={"card": CARD, "pin": "0000", "csrf_token": csrf(patron)}).status_code == 401
        assert patron.post("/login", data={"card": CARD, "pin": PIN, "csrf_token": csrf(patron)}).status_code == 303
        assert patron.get("/search", params={"q": SEARCH_WORDS}).status_code == 200
        assert patron.post(f"/titles/{title_id}/borrow", data={"csrf_token": csrf(patron, "/shelf")}).status_code in (302, 303)
        assert "鳴鳥の本" in patron.get("/shelf").text
    with httpx.Client(base_url=base, timeout=60) as app:
        root = app.get("/opds/v2/", headers={"Accept": "application/opds+json"}).json()
        shelf = next(link["href"] for link in root["links"] if link["rel"] == "http://opds-spec.org/shelf")
        assert app.get(shelf, headers=basic(CARD, "9999")).status_code == 401
        assert app.get(shelf, headers=basic(CARD, PIN)).status_code == 200
    with httpx.Client(base_url=base, timeout=60) as newcomer:
        sent = newcomer.post("/register", data={**FORM, "csrf_token": csrf(newcomer, "/register")})
        assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        from email import message_from_bytes, policy

        mail = message_from_bytes(inbox.messages[-1].content, policy=policy.default)
        path = re.search(r"https?://[^/\s]+(/register/confirm/[\w-]+)", mail.get_body().get_content()).group(1)
        found.append(path.rsplit("/", 1)[1])
        done = newcomer.post(path, data={"pin": REG_PIN, "pin2": REG_PIN, "csrf_token": csrf(newcomer, path)})
        card = re.search(r'class="card-number">(P\d{9})<', done.text).group(1)
        found.append(card)
        assert found[0] in mail.get_body().get_content()  # the control: the token is a value the grep would see
    with httpx.Client(base_url=base, timeout=60) as again:
        assert again.post("/login", data={"card": card, "pin": REG_PIN, "csrf_token": csrf(again)}).status_code == 303
    with httpx.Client(base_url=base, timeout=60) as staff:
        token = csrf(staff, "/staff/login")
        assert staff.post("/staff/login", data={"email": STAFF_EMAIL, "password": "wrong-password", "csrf_token": token}).status_code == 401
        assert staff.post("/staff/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}).status_code == 303
        assert staff.post("/staff/login/code", data={"code": "000000", "csrf_token": token}).status_code == 401
        code = pyotp.TOTP(totp_secret).at(time.time())
        assert staff.post("/staff/login/code", data={"code": code, "csrf_token": token}).status_code == 303
        assert staff.get("/staff/security-events/").status_code == 200
    return found


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


@pytest.mark.slow
def test_no_canary_in_any_log_or_on_the_app_server(tmp_path, database_url):
    appserver = tmp_path / "appserver"  # the public-segment host; the database (database_url) is outside it
    instance, logs, tmp = appserver / "instance", appserver / "log", appserver / "tmp"
    for folder in (logs, tmp):
        folder.mkdir(parents=True)
    handler = Inbox()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    config = make_test_config(instance, database_url, ELIBRARY_NOTIFIER="smtp", ELIBRARY_SMTP_HOST="127.0.0.1", ELIBRARY_SMTP_PORT=smtp.port,
                              ELIBRARY_SMTP_FROM="library@city.example.jp", ELIBRARY_LOG_FILE=str(logs / "app.log"),
                              ELIBRARY_SIGNIN_PAIR_LIMIT=5)
    assert not database_url.startswith(f"sqlite:///{appserver}")
    setup = create_app({k: v for k, v in config.items() if k != "ELIBRARY_LOG_FILE"})  # this process logs elsewhere
    assert setup.test_cli_runner().invoke(args=["patrons", "add", CARD, "--pin", PIN, "--name", NAME]).exit_code == 0
    rt = setup.extensions["elibrary"]
    secret = pyotp.random_base32()
    with rt.db.scope() as session:
        title_id = make_licensed_title(session, copies=3, title="鳴鳥の本").id
        user, _ = add_staff(session, STAFF_EMAIL, "admin")
        user.password_hash = generate_password_hash(STAFF_PASSWORD)
        user.must_change_password = False
        user.totp_secret_enc = rt.cipher.encrypt(secret, totp.CONTEXT)
    rt.db.dispose()
    try:
        with gunicorn(config, logs, workers=2, extra_env={"TMPDIR": str(tmp), "ELIBRARY_ACCESS_LOG": str(logs / "access.log")}) as base:
            found = drive(base, handler, title_id, secret)
    finally:
        smtp.stop()

    app_log = (logs / "app.log").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in app_log.splitlines()]
    kinds = [line.get("event") for line in lines]
    for kind in ("signin.failure", "signin.success", "staff.totp.failure"):
        assert kind in kinds, kind
    assert all(line["request_id"] != "-" for line in lines if line.get("event"))
    access = (logs / "access.log").read_text(encoding="utf-8")
    assert access.count("/login") >= 3 and re.search(r" [0-9a-f]{16}$", access.splitlines()[0])  # request id at the end of each line

    canaries = [CARD, PIN, NAME, STAFF_EMAIL, STAFF_PASSWORD, REG_PIN, SEARCH_WORDS, *FORM.values(), *found, secret, "やまだ", "ナキドリ"]
    canaries += [base64.b64encode(f"{CARD}:{PIN}".encode()).decode(), "カナリア", "鳴鳥町", "canary.hanako"]
    searched = files_under(instance, logs, tmp)
    assert any(p.name == "app.log" for p in searched) and any(p.name == "access.log" for p in searched)
    assert not list(instance.glob("*.db*")), "the database was meant to be elsewhere"
    leaks = []
    for path in searched:
        data = path.read_bytes()
        for canary in canaries:
            for form in {canary, canary.lower()}:
                if leaked(form, data):
                    leaks.append(f"{path.relative_to(appserver)}: {canary}")
    assert not leaks, leaks


def leaked(canary: str, data: bytes) -> bool:
    """Whether ``canary`` is in ``data`` (UTF-8 or UTF-16). A number (the 4-digit PIN) counts only standing alone:
    inside a longer number (a log position's change id or time, a latency) it is a coincidence, not a leak."""
    if canary.isdigit():
        return re.search(rb"(?<![0-9.])" + canary.encode() + rb"(?![0-9])", data) is not None or canary.encode("utf-16-le") in data
    return canary.encode() in data or canary.encode("utf-16-le") in data


def test_a_number_canary_counts_standing_alone_not_inside_another_number():
    assert leaked(PIN, f'{{"pin": "{PIN}"}}'.encode()) and leaked(PIN, f"pin={PIN}&x".encode())
    assert not leaked(PIN, f'{{"change_id": 1{PIN}2, "at": 1765000000.{PIN}}}'.encode())
