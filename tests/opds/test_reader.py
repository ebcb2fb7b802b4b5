"""The test suite's OPDS reader parses feeds it did not write: Palace's circulation samples."""
from __future__ import annotations

import json

import pytest

from tests.conftest import EXTERNAL
from tests.opds.reader import parse_feed1, parse_feed2, parse_publication2

SAMPLES = EXTERNAL / "opds-samples" / "palace-circulation"


@pytest.mark.parametrize("name", ["feed.json", "feed2.json", "auth_token_feed.json", "tf.json"])
def test_reads_palace_opds2_feeds(name):
    feed = parse_feed2((SAMPLES / "opds2" / name).read_bytes())
    assert feed.title
    assert feed.publications or feed.navigation
    for publication in feed.publications:
        assert publication.links or publication.title


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "opds").glob("*.opds"))
                         + ["../customlists/feed90.xml", "../opds_for_distributors/biblioboard_mini_feed.opds"])
def test_reads_palace_opds1_feeds(name):
    feed = parse_feed1((SAMPLES / "opds" / name).read_bytes())
    assert feed.publications or feed.navigation, name
    for publication in feed.publications:
        assert publication.title and publication.identifier


def test_reads_palace_lending_availability():
    feed = parse_feed1((SAMPLES / "customlists" / "feed90.xml").read_bytes())
    states = {link.properties["availability"]["state"] for p in feed.publications for link in p.links if "availability" in link.properties}
    assert states and states <= {"available", "unavailable", "reserved", "ready"}


def test_reads_palace_odl_feeds():
    for name in ("feed.json", "open-access-title.json", "unlimited-access-title.json"):
        feed = parse_feed2((SAMPLES / "odl" / name).read_bytes())
        assert any(p.title for p in feed.publications), name  # Palace's fixtures include deliberately broken entries
    error = json.loads((SAMPLES / "odl" / "unavailable.json").read_text())  # a problem document, not a feed
    with pytest.raises(KeyError):
        parse_publication2(error)
