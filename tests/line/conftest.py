"""Fixtures of the LINE tests: a fake LINE API on loopback and an app configured for it."""
from __future__ import annotations

import pytest

from tests.line.fakeline import CHANNEL_ID, FakeLine


@pytest.fixture
def fake_line(httpserver) -> FakeLine:
    """The fake LINE API, installed on pytest-httpserver's loopback server."""
    return FakeLine(httpserver).install()


@pytest.fixture
def app_config(app_config, fake_line):
    """LINE on, pointed at the fake; the fake ILS (``rt.ils.add``)."""
    return {
        **app_config,
        "ELIBRARY_ILS": "fake",
        "ELIBRARY_LINE_LOGIN_CHANNEL_ID": CHANNEL_ID,
        "ELIBRARY_LINE_LIFF_ID": CHANNEL_ID + "-abcdefgh",
        "ELIBRARY_LINE_MESSAGING_SECRET": "test-channel-secret",
        "ELIBRARY_LINE_MESSAGING_TOKEN": "test-channel-token",
        "ELIBRARY_LINE_API_BASE": fake_line.base,
    }
