"""Key rotation: personal data re-encrypted under a new key, still readable and findable afterwards."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from elibrary import create_app
from elibrary.patrons.models import Patron
from elibrary.patrons.services import add_local_patron, find_by_card, name_of, notification_address, set_email


def test_rotate_reencrypts_and_keeps_lookups(app_config, runner, rt, app):
    with rt.db.scope() as session:
        patron = add_local_patron(session, rt.cipher, "20240001", "2468", name="山田 花子")
        set_email(patron, rt.cipher, "hanako@example.jp")
    with rt.db.scope() as session:
        before = session.scalars(select(Patron)).one().name_enc
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "rotated to version 2" in result.output and "3 values" in result.output
    instance = Path(app.instance_path)
    assert (instance / "data_key.v1").exists() and (instance / "lookup_key").exists()
    assert (instance / "data_key.version").read_text().strip() == "2"
    assert oct((instance / "data_key.v2").stat().st_mode & 0o777) == "0o600"

    restarted = create_app(app_config)  # a worker started after the rotation
    try:
        new_rt = restarted.extensions["elibrary"]
        assert new_rt.cipher.version == 2
        with new_rt.db.scope() as session:
            patron = find_by_card(session, new_rt.cipher, "２０２４０００１")  # the keyed hash still finds it
            assert patron.name_enc[0] == 2 and patron.name_enc != before
            assert name_of(patron, new_rt.cipher) == "山田 花子"
            assert notification_address(session, new_rt.cipher, patron) == "hanako@example.jp"
        client = restarted.test_client()
        from tests.conftest import csrf_token_for

        signed_in = client.post("/login", data={"card": "20240001", "pin": "2468", "csrf_token": csrf_token_for(client)})
        assert signed_in.status_code == 303
    finally:
        new_rt.db.dispose()

    again = create_app(app_config)
    try:
        second = again.test_cli_runner().invoke(args=["keys", "rotate"])
        assert second.exit_code == 0 and "version 3" in second.output
    finally:
        again.extensions["elibrary"].db.dispose()


def test_rotation_refuses_keys_from_the_environment(runner, monkeypatch):
    monkeypatch.setenv("ELIBRARY_DATA_KEY", "x" * 40)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 1 and "environment" in result.output
