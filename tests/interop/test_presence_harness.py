"""The presence harness itself, checked WITHOUT Herald: a pjsua2 device watching
another one straight by IP (PJSIP answers the SUBSCRIBE and NOTIFYs its own
state). When this fails, the buddy_state events the presence tests read cannot be
trusted."""

from __future__ import annotations

import pytest

HOST = "127.0.0.1"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_buddy_state_follows_the_other_device(pjsua_many, transport):
    alice = pjsua_many("alice", "pw", transport)
    bob = pjsua_many("bob", "pw", transport)
    bob_uri = bob.uri(HOST)

    # A PJSIP account is offline until told otherwise.
    bob.send("publish", status="online", activity="unknown", note="")
    alice.subscribe(bob_uri)
    seen = alice.wait_presence(bob_uri, status="online", sub_state="ACTIVE")
    assert seen["raw"].startswith("NOTIFY ") and "application/pidf+xml" in seen["raw"], seen

    bob.send("publish", status="online", activity="busy", note="On a call")
    seen = alice.wait_presence(bob_uri, activity="busy", note="On a call")
    assert seen["status"] == "online" and "On a call" in seen["raw"], seen

    bob.send("publish", status="online", activity="away", note="")
    alice.wait_presence(bob_uri, activity="away", note="")

    bob.send("publish", status="offline")
    seen = alice.wait_presence(bob_uri, status="offline")
    assert "<basic>closed</basic>" in seen["raw"], seen["raw"]

    alice.unsubscribe(bob_uri)
    alice.wait_presence(bob_uri, sub_state="TERMINATED")
