"""The SIP2 connector against real ACS processes on loopback (pysip2, and a transcript replayer)."""
from __future__ import annotations

import re
import socket
import threading
import time
import unicodedata
from dataclasses import replace

import pytest

from elibrary.ils.base import ILSUnavailable, InvalidCredentials
from elibrary.ils.sip2.client import ChecksumError, LoginRefused, SIP2Client, checksum, parse_fields, verify_checksum
from elibrary.ils.sip2.connector import SIP2Connector, account_from_reply, parse_patron_reply
from elibrary.ils.sip2.dialect import DIALECTS, Dialect
from tests.conftest import EXTERNAL

TSV = EXTERNAL / "sip2" / "sip2-examples.tsv"


def transcript():
    rows = []
    for line in TSV.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


@pytest.fixture
def connector():
    """``connector(port, dialect, **options)``; closed after the test."""
    made = []

    def make(port, dialect, **kwargs):
        made.append(_connector(port, dialect, **kwargs))
        return made[-1]

    yield make
    for sip in made:
        sip.close()


def _connector(port, dialect: Dialect, **kwargs) -> SIP2Connector:
    client = SIP2Client("127.0.0.1", port, dialect, user=kwargs.pop("user", "elibrary"), password=kwargs.pop("password", "sip-secret"),
                        timeout=kwargs.pop("timeout", 3.0), pool_size=kwargs.pop("pool_size", 2))
    return SIP2Connector(client, institution="KOBE", **kwargs)


# --- checksums and parsing, from the published vectors -------------------------------------------

def test_checksum_vectors_from_the_transcripts():
    vectors = [row for row in transcript() if row[0] == "CHECKSUM-VECTOR"]
    assert len(vectors) >= 9
    for _, expected, computed_utf8, computed_nfd, body, _source in vectors:
        assert checksum(body.encode("utf-8")) == computed_utf8
        # Evergreen's non-ASCII vectors only verify as UTF-8 in NFD form, as the file says.
        assert checksum(unicodedata.normalize("NFD", body).encode("utf-8")) == computed_nfd
        if expected == computed_utf8:
            assert checksum(body.encode("utf-8")) == expected


def test_published_checksummed_messages_verify_and_mismatches_do_not():
    rows = [row for row in transcript() if len(row) > 3 and row[0] != "CHECKSUM-VECTOR"]
    ok = [row[3] for row in rows if row[2] == "checksum-OK"]
    bad = [row[3] for row in rows if row[2].startswith("checksum-MISMATCH")]
    assert len(ok) >= 4 and len(bad) >= 5
    assert all(verify_checksum(m.encode("utf-8")) for m in ok)
    assert not any(verify_checksum(m.encode("utf-8")) for m in bad)


def strip_trailer(message: str) -> str:
    return re.sub(r"(AY\d)?AZ[0-9A-F]{4}$", "", message)


def test_every_recorded_patron_reply_parses_and_the_decision_rule_holds():
    replies = [row for row in transcript() if row[0] in ("63/64", "23/24") and row[1] == "RSP"]
    assert len(replies) >= 10
    decided = {"accepted": 0, "refused": 0}
    for row in replies:
        text = strip_trailer(row[3])
        dialect = replace(DIALECTS["generic"], field_separator="^" if "^AA" in text else "|")
        reply = parse_patron_reply(text, dialect)
        try:
            account = account_from_reply("X", reply, dialect, {})
        except InvalidCredentials:
            decided["refused"] += 1
            assert reply.first("BL") != "Y" or reply.first("CQ") != "Y"
        else:
            decided["accepted"] += 1
            assert reply.first("BL") == "Y" and reply.first("CQ") == "Y"
            assert account.name
    assert decided["accepted"] >= 3 and decided["refused"] >= 5


def test_polaris_extension_fields_give_expiry_and_block():
    row = next(r for r in transcript() if "PX20180215" in r[3])
    reply = parse_patron_reply(strip_trailer(row[3]), DIALECTS["polaris"])
    account = account_from_reply("22222123456789", reply, DIALECTS["polaris"], {})
    assert account.expires_on.isoformat() == "2018-02-15"
    assert account.blocked and "利用カードの有効期限が切れています" in account.block_reasons
    assert account.extra["email"] == "someone@somewhere.com"


def test_missing_cq_is_refused_unless_the_dialect_trusts_it():
    text = "64              00020240401    120000000000000000000000000000AOKOBE|AA1|AEName|BLY|"
    reply = parse_patron_reply(text, DIALECTS["generic"])
    with pytest.raises(InvalidCredentials):
        account_from_reply("1", reply, DIALECTS["generic"], {})
    assert account_from_reply("1", reply, replace(DIALECTS["generic"], require_cq=False), {}).name == "Name"


def test_truncated_fixed_part_is_an_ils_error():
    with pytest.raises(ILSUnavailable):
        parse_patron_reply("64  Y      ", DIALECTS["generic"])


def test_repeatable_fields_keep_every_value():
    assert parse_fields("AS1|AS2|AFhello|")["AS"] == ["1", "2"]


# --- against pysip2's ACS (an independent implementation) ----------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_sign_in_against_pysip2_acs(connector, start_acs, encoding):
    port = start_acs("acs_pysip2.py", "--encoding", encoding, "--login-required")
    sip = connector(port, replace(DIALECTS["generic"], encoding=encoding))
    account = sip.authenticate("20240001", "2468")
    assert account.name == "山田 花子" and not account.blocked and account.card_number == "20240001"
    with pytest.raises(InvalidCredentials):
        sip.authenticate("20240001", "0000")
    with pytest.raises(InvalidCredentials):
        sip.authenticate("99999999", "2468")
    blocked = sip.authenticate("20240002", "1357")
    assert blocked.blocked and blocked.block_reasons == ("貸出停止中です",)
    fined = sip.authenticate("20240003", "9999")
    assert fined.blocked and "未納の延滞金があります" in fined.block_reasons and fined.extra["fee_amount"] == "1500"
    assert sip.status()["ok"] is True


def test_patron_status_dialect_without_end_session(connector, start_acs):
    port = start_acs("acs_pysip2.py", "--login-required")
    sip = connector(port, replace(DIALECTS["verso"], use_patron_information=False))
    assert sip.authenticate("20240001", "2468").name == "山田 花子"
    with pytest.raises(InvalidCredentials):
        sip.authenticate("20240001", "1111")


def test_wrong_sip_login_is_an_unavailable_ils(connector, start_acs):
    port = start_acs("acs_pysip2.py", "--login-required")
    sip = connector(port, DIALECTS["generic"], password="wrong")
    with pytest.raises(LoginRefused) as caught:
        sip.authenticate("20240001", "2468")
    assert isinstance(caught.value, ILSUnavailable)


def test_pool_serves_concurrent_sign_ins_over_few_connections(connector, start_acs):
    port = start_acs("acs_pysip2.py", "--login-required")
    sip = connector(port, DIALECTS["generic"], pool_size=2)
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(sip.authenticate("20240001", "2468").name)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == ["山田 花子"] * 30
    assert len(sip.client.pool._idle) <= 2


def test_reconnects_once_after_the_acs_dropped_an_idle_connection(connector, start_acs):
    port = start_acs("acs_pysip2.py", "--login-required")
    sip = connector(port, DIALECTS["generic"], pool_size=1)
    sip.authenticate("20240001", "2468")
    idle = sip.client.pool._idle[0]
    idle._sock.shutdown(socket.SHUT_RDWR)  # as if the ACS had closed it overnight
    assert sip.authenticate("20240001", "2468").name == "山田 花子"


# --- against the transcript replayer: real-world shapes and misbehaviour --------------------------

SJIS_REPLY = "64              00020240401    120000000000000000000000000000AOKOBE|AA20240009|AEポール 田中|BLY|CQY|PCgeneral|PA20301231|BV0|CC500|"


def test_cp932_name_with_a_separator_byte_and_extension_fields(connector, start_acs):
    assert b"|" in "ポ".encode("cp932")  # the trail byte of ポ is 0x7C: fields must be split after decoding
    port = start_acs("acs_replay.py", "replay", SJIS_REPLY, "cp932")
    sip = connector(port, DIALECTS["japanese-sjis"], categories={"general": "citizen", "child": "student"})
    account = sip.authenticate("20240009", "1234")
    assert account.name == "ポール 田中" and account.category == "citizen"
    assert account.expires_on.isoformat() == "2030-12-31" and not account.blocked


def test_recorded_evergreen_reply_with_classes_and_expiry(connector, start_acs):
    row = next(r for r in transcript() if "PA20191004" in r[3])
    port = start_acs("acs_replay.py", "replay", strip_trailer(row[3]).replace("CQN", "CQY"))
    sip = connector(port, DIALECTS["evergreen"], categories={"Adult": "citizen"})
    account = sip.authenticate("240", "pin")
    assert account.category == "citizen" and account.expires_on.isoformat() == "2019-10-04"
    assert account.blocked and account.name == "Booth Active Test"


@pytest.mark.parametrize("mode", ["bad-checksum", "truncated", "garbage"])
def test_broken_replies_are_an_unavailable_ils(connector, start_acs, mode):
    port = start_acs("acs_replay.py", mode, SJIS_REPLY)
    sip = connector(port, DIALECTS["generic"])
    with pytest.raises(ILSUnavailable) as caught:
        sip.authenticate("20240009", "1234")
    if mode == "bad-checksum":
        assert isinstance(caught.value, ChecksumError)


def test_an_acs_that_never_answers_times_out(connector, start_acs):
    port = start_acs("acs_replay.py", "silent")
    sip = connector(port, DIALECTS["generic"], timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ILSUnavailable):
        sip.authenticate("20240001", "2468")
    assert time.monotonic() - started < 3  # the wait and one reconnect, no more
    assert sip.status()["ok"] is False


def test_nobody_listening_is_an_unavailable_ils(connector):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ILSUnavailable):
        connector(port, DIALECTS["generic"], timeout=0.5).authenticate("1", "2")


# --- through the application ---------------------------------------------------------------------

@pytest.fixture
def app_config(app_config, start_acs):
    port = start_acs("acs_pysip2.py", "--encoding", "cp932", "--login-required")
    app_config.update(
        ELIBRARY_ILS="sip2", ELIBRARY_SIP2_HOST="127.0.0.1", ELIBRARY_SIP2_PORT=port, ELIBRARY_SIP2_USER="elibrary",
        ELIBRARY_SIP2_PASSWORD="sip-secret", ELIBRARY_SIP2_ENCODING="cp932", ELIBRARY_SIP2_INSTITUTION="KOBE",
        ELIBRARY_SIP2_TIMEOUT=1, ELIBRARY_SIP2_CATEGORIES='{"*": "citizen"}',
    )
    return app_config


def test_sign_in_page_through_sip2_and_the_acs_going_away(client, rt):
    from sqlalchemy import select

    from elibrary.patrons.models import Patron
    from elibrary.patrons.services import name_of
    from tests.conftest import csrf_token_for

    token = csrf_token_for(client)
    try:
        assert client.post("/login", data={"card": "２０２４０００２", "pin": "1357", "csrf_token": token}).status_code == 303
        with rt.db.scope() as session:
            patron = session.scalars(select(Patron)).one()
            assert patron.blocked and patron.block_reason == "貸出停止中です" and name_of(patron, rt.cipher) == "佐藤 太郎"
        client.post("/logout", data={"csrf_token": csrf_token_for(client)})  # the token changed at sign-in
        token = csrf_token_for(client)  # and again at sign-out
        assert client.post("/login", data={"card": "20240002", "pin": "0000", "csrf_token": token}).status_code == 401
        rt.ils.client.port = 1  # the ACS moved away: nothing answers there
        rt.ils.close()
        down = client.post("/login", data={"card": "20240002", "pin": "1357", "csrf_token": token})
        assert down.status_code == 503 and "図書館システムに接続できません" in down.get_data(as_text=True)
    finally:
        rt.ils.close()


def _self_signed(tmp_path):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sip2.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_to_the_acs_verifies_its_certificate(start_acs, tmp_path):
    cert, key = _self_signed(tmp_path)
    port = start_acs("acs_replay.py", "replay", SJIS_REPLY, "utf-8", cert, key)
    trusted = SIP2Client("127.0.0.1", port, DIALECTS["generic"], timeout=3, tls=True, tls_ca_file=cert)
    untrusted = SIP2Client("127.0.0.1", port, DIALECTS["generic"], timeout=3, tls=True)  # system CAs only
    try:
        account = SIP2Connector(trusted, institution="KOBE").authenticate("20240009", "1234")
        assert account.name == "ポール 田中"
        with pytest.raises(ILSUnavailable, match="TLS"):
            SIP2Connector(untrusted, institution="KOBE").authenticate("20240009", "1234")
    finally:
        trusted.close()
        untrusted.close()
