"""One user on two devices (two pjsua2 processes for alice, both registered and
publishing): her watchers see the aggregate, the most relevant device's state —
any active device (below Be Right Back, not idle) wins with the highest number
among the active ones, otherwise the lowest number wins, and no device at all is
offline."""

from __future__ import annotations

import re

import pytest

PASSWORD = "secret-pw"


def availability(state: dict) -> int | None:
    m = re.search(r"<ha:availability>(\d+)</ha:availability>", state.get("raw", ""))
    return int(m.group(1)) if m else None


@pytest.fixture
def alice_on_two_devices(presence_herald, pjsua_many):
    """(server, device A, device B, bob watching alice): A over UDP, B over TCP."""
    server = presence_herald
    server.add_user("alice", PASSWORD)
    server.add_user("bob", PASSWORD)
    at = f"{server.host}:{server.sip_port}"
    a = pjsua_many("alice", PASSWORD, "udp", server=at, device_id="pc", publish=True)
    b = pjsua_many("alice", PASSWORD, "tcp", server=at, device_id="phone", publish=True)
    bob = pjsua_many("bob", PASSWORD, "udp", server=at)
    for device in (a, b, bob):
        assert device.register()["code"] == 200
    bob.subscribe(f"sip:alice@{server.domain}")
    bob.wait_presence(f"sip:alice@{server.domain}", status="online")
    return server, a, b, bob


def test_busy_device_wins_over_away_one_and_away_remains_when_it_leaves(alice_on_two_devices):
    server, a, b, bob = alice_on_two_devices
    alice = f"sip:alice@{server.domain}"

    a.publish("online", "busy")
    b.publish("online", "away")
    seen = bob.wait_presence(alice, status="online", activity="busy")
    assert availability(seen) == 6000, seen["raw"]

    # A unregisters (PJSIP withdraws its publication, then its binding): B's away is
    # all that is left.
    a.send("unregister")
    assert a.wait_for("reg_state", active=False)["code"] == 200
    seen = bob.wait_presence(alice, status="online", activity="away")
    assert availability(seen) == 15000, seen["raw"]

    # B unregisters too: no endpoint, offline.
    b.send("unregister")
    assert b.wait_for("reg_state", active=False)["code"] == 200
    seen = bob.wait_presence(alice, status="offline")
    assert availability(seen) == 18000, seen["raw"]


def test_a_device_going_offline_leaves_the_other_in_charge(alice_on_two_devices):
    server, a, b, bob = alice_on_two_devices
    alice = f"sip:alice@{server.domain}"

    a.publish("online", "busy")
    b.publish("online", "away")
    bob.wait_presence(alice, status="online", activity="busy")

    # A publishes "offline" while staying registered: its closed document counts as
    # offline, so B's away wins.
    a.publish("offline")
    seen = bob.wait_presence(alice, status="online", activity="away")
    assert availability(seen) == 15000, seen["raw"]

    # B comes back to its desk: available beats the offline A.
    b.publish("online")
    seen = bob.wait_presence(alice, status="online", activity="unknown")
    assert availability(seen) == 3500, seen["raw"]

    # A is busy again: an active busy device beats an active available one.
    a.publish("online", "busy")
    seen = bob.wait_presence(alice, status="online", activity="busy")
    assert availability(seen) == 6000, seen["raw"]


def test_registered_device_that_never_published_counts_as_available(presence_herald, pjsua_many):
    """A device without PUBLISH (a plain phone) is Available: it beats an away PC."""
    server = presence_herald
    server.add_user("alice", PASSWORD)
    server.add_user("bob", PASSWORD)
    at = f"{server.host}:{server.sip_port}"
    pc = pjsua_many("alice", PASSWORD, "udp", server=at, device_id="pc", publish=True)
    bob = pjsua_many("bob", PASSWORD, "udp", server=at)
    for device in (pc, bob):
        assert device.register()["code"] == 200
    alice = f"sip:alice@{server.domain}"
    bob.subscribe(alice)
    pc.publish("online", "away")
    seen = bob.wait_presence(alice, status="online", activity="away")
    assert availability(seen) == 15000, seen["raw"]

    phone = pjsua_many("alice", PASSWORD, "tcp", server=at, device_id="phone")
    assert phone.register()["code"] == 200
    seen = bob.wait_presence(alice, status="online", activity="unknown")
    assert availability(seen) == 3500, seen["raw"]

    phone.send("unregister")
    assert phone.wait_for("reg_state", active=False)["code"] == 200
    seen = bob.wait_presence(alice, status="online", activity="away")
    assert availability(seen) == 15000, seen["raw"]
