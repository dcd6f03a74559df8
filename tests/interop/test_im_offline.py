"""Messages to a user with no registered device: Herald stores them (202 Accepted)
and delivers every one when the user next registers, once, in the original order,
with the original sender in From and the original time in a Date header, even
across a server restart (same data directory)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest

from conftest import restart_herald

# Skipped (with the reason) only while the server answers MESSAGE 405: IM not there yet.
pytestmark = pytest.mark.usefixtures("require_im")

ALICE_PW, BOB_PW = "alice-pw", "bob-pw"
TRANSPORTS = ["udp", "tcp"]
DELIVERY_TIMEOUT = 15.0


def aor(herald, user: str) -> str:
    return f"sip:{user}@{herald.domain}"


def device(pjsua, herald, user: str, password: str, transport: str, device_id: str):
    return pjsua(user, password, transport, server=f"{herald.host}:{herald.sip_port}", device_id=device_id)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stored_messages_survive_a_restart_and_arrive_once_in_order(herald, pjsua, transport):
    herald.add_user("alice", ALICE_PW)
    herald.add_user("bob", BOB_PW)
    alice = device(pjsua, herald, "alice", ALICE_PW, "udp", "phone")
    assert alice.register()["code"] == 200

    bodies = [f"offline {i} ({transport})" for i in range(3)]
    sent_at = datetime.now(timezone.utc).replace(microsecond=0)
    for body in bodies:
        status = alice.message(aor(herald, "bob"), body)
        assert (status["code"], status["reason"]) == (202, "Accepted"), status
    sent_done = time.time()
    alice.stop()

    restart_herald(herald)
    # Let the clock move on, so the original time and the delivery time differ by
    # more than the Date header's one-second resolution.
    time.sleep(2.5)

    bob = device(pjsua, herald, "bob", BOB_PW, transport, "bob1")
    assert bob.register()["code"] == 200
    received = [bob.wait_for("im", timeout=DELIVERY_TIMEOUT) for _ in bodies]
    delivered_at = datetime.now(timezone.utc)
    assert [r["body"] for r in received] == bodies, received
    for r in received:
        assert r["from"].strip("<>").split(";")[0] == aor(herald, "alice"), r
        assert r["date"], f"no Date header:\n{r['raw']}"
        when = parsedate_to_datetime(r["date"])
        # The Date carries the original time (1 s resolution), not the delivery time.
        assert sent_at.timestamp() <= when.timestamp() <= int(sent_done) + 1, (r["date"], sent_at, delivered_at)

    # Once: no duplicates, not on a refresh, not to a second device registering later.
    assert bob.register()["code"] == 200
    second = device(pjsua, herald, "bob", BOB_PW, "tcp", "bob2")
    assert second.register()["code"] == 200
    bob.expect_none("im", within=2.0, body="__none__")
    assert len(bob.all("im")) == len(bodies), bob.all("im")
    assert second.all("im") == [], second.all("im")


def test_online_recipient_gets_200_not_202(herald, pjsua):
    herald.add_user("alice", ALICE_PW)
    herald.add_user("bob", BOB_PW)
    alice = device(pjsua, herald, "alice", ALICE_PW, "udp", "phone")
    bob = device(pjsua, herald, "bob", BOB_PW, "udp", "bob1")
    assert alice.register()["code"] == 200
    assert bob.register()["code"] == 200
    assert alice.message(aor(herald, "bob"), "you are online")["code"] == 200
    assert bob.wait_for("im", body="you are online")
    # Unregistered again: the next one is stored, and delivered on the next REGISTER.
    bob.send("unregister")
    assert bob.wait_for("reg_state")["code"] == 200
    assert alice.message(aor(herald, "bob"), "you went away")["code"] == 202
    assert bob.register()["code"] == 200
    got = bob.wait_for("im", body="you went away", timeout=DELIVERY_TIMEOUT)
    assert got["date"], got["raw"]
