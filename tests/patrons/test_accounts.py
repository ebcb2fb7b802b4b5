"""The patrons' own account store: the ``local`` connector, and in front of a real ILS for online registrations."""
from __future__ import annotations

import pytest

from elibrary.ils.base import ILSUnavailable, InvalidCredentials
from elibrary.ils.fake import FakeILS
from elibrary.patrons.services import add_local_patron


@pytest.fixture
def cards(rt):
    with rt.db.scope() as session:
        add_local_patron(session, rt.cipher, "L0000001", "local-pin-1")
        registered = add_local_patron(session, rt.cipher, "W0000001", "web-pin-1", category="provisional")
        registered.source = "registered"  # issued by online registration


def test_local_connector_answers_for_every_card_it_keeps(rt, cards):
    assert rt.ils is rt.accounts and rt.accounts.in_front_of(rt.ils) is rt.accounts
    assert rt.ils.authenticate("Ｌ-０００００01", "local-pin-1").card_number == "L0000001"  # typed in full width, with a hyphen
    assert rt.ils.authenticate("W0000001", "web-pin-1").category == "provisional"
    for card, pin in (("L0000001", "wrong-pin"), ("X9999999", "local-pin-1")):
        with pytest.raises(InvalidCredentials):
            rt.ils.authenticate(card, pin)
    assert rt.ils.status() == {"ok": True, "connector": "local"}


def test_in_front_of_an_ils_only_online_registrations_are_checked_here(rt, cards):
    ils = FakeILS()
    ils.add("I0000001", "ils-pin-1", category="student")
    signing_in = rt.accounts.in_front_of(ils)
    assert signing_in.authenticate("W0000001", "web-pin-1").category == "provisional"  # the ILS does not know it
    with pytest.raises(InvalidCredentials):
        signing_in.authenticate("W0000001", "wrong-pin")
    assert signing_in.authenticate("I0000001", "ils-pin-1").category == "student"
    with pytest.raises(InvalidCredentials):  # a card kept for the local connector is the ILS's business here
        signing_in.authenticate("L0000001", "local-pin-1")
    ils.down = True
    with pytest.raises(ILSUnavailable):
        signing_in.authenticate("I0000001", "ils-pin-1")
    assert signing_in.authenticate("W0000001", "web-pin-1").card_number == "W0000001"  # registrations still sign in
    assert signing_in.status() == {"ok": False, "connector": "fake"}
