"""Settings layers, generated keys and the production safety check."""
import stat

import pytest

from elibrary import create_app
from elibrary.config import ConfigError, check_production, load_settings


def test_layers_defaults_then_instance_file_then_environment(tmp_path):
    (tmp_path / "config.py").write_text('ELIBRARY_ILS = "sip2"\nELIBRARY_SIP2_PORT = 7000\nELIBRARY_SMTP_HOST = "mail.example.jp"\n')
    settings = load_settings(str(tmp_path), None, {"ELIBRARY_SIP2_PORT": "7100", "ELIBRARY_SEARCH_SYNC": "yes", "OTHER": "x"})
    assert settings["ELIBRARY_ILS"] == "sip2"  # from the instance file
    assert settings["ELIBRARY_SIP2_PORT"] == 7100  # environment wins, coerced to int
    assert settings["ELIBRARY_SEARCH_SYNC"] is True
    assert settings["ELIBRARY_SMTP_PORT"] == 25  # default
    assert "OTHER" not in settings


def test_bad_environment_value_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="whole number"):
        load_settings(str(tmp_path), None, {"ELIBRARY_SIP2_PORT": "six"})


def test_first_start_generates_private_keys_and_reuses_them(tmp_path, monkeypatch):
    monkeypatch.delenv("ELIBRARY_SECRET_KEY", raising=False)
    instance = tmp_path / "inst"
    config = {"ELIBRARY_INSTANCE_PATH": str(instance), "ELIBRARY_SEARCH": "memory"}
    first = create_app(config)
    for name in ("secret_key", "data_key"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, name
    second = create_app(config)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["ELIBRARY_DATA_KEY"] != first.config["SECRET_KEY"]


@pytest.mark.parametrize("secret", ["dev", "short-secret", "change-me"])
def test_production_refuses_development_secrets(secret):
    with pytest.raises(ConfigError, match="ELIBRARY_SECRET_KEY"):
        check_production({"ELIBRARY_ENV": "production", "ELIBRARY_SECRET_KEY": secret, "ELIBRARY_DATA_KEY": "x" * 40})


def test_production_refuses_to_start_the_app(tmp_path):
    with pytest.raises(ConfigError):
        create_app({"ELIBRARY_INSTANCE_PATH": str(tmp_path), "ELIBRARY_ENV": "production", "ELIBRARY_SECRET_KEY": "dev"})


def test_production_accepts_strong_keys(tmp_path):
    app = create_app(
        {"ELIBRARY_INSTANCE_PATH": str(tmp_path), "ELIBRARY_ENV": "production", "ELIBRARY_SEARCH": "memory", "ELIBRARY_PUBLIC_URL": "https://library.example.jp"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_production_needs_the_public_url(tmp_path):
    with pytest.raises(ConfigError, match="ELIBRARY_PUBLIC_URL"):
        create_app({"ELIBRARY_INSTANCE_PATH": str(tmp_path), "ELIBRARY_ENV": "production", "ELIBRARY_SEARCH": "memory"})


def test_unknown_backend_names_the_choices(tmp_path):
    with pytest.raises(ConfigError, match=r"choose one of: .*\bmemory\b.*\bwhoosh\b"):
        create_app({"ELIBRARY_INSTANCE_PATH": str(tmp_path), "ELIBRARY_SEARCH": "lucene"})
