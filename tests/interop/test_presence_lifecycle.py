"""When watchers hear of changes: the first NOTIFY at once after the 200, then at
most one per subscription per notify interval (a burst of changes is coalesced into
the latest state); a publication ends with the connection that sent it; a user who
is removed ends their watchers' subscriptions."""

from __future__ import annotations

import time

import pytest

from conftest import running_herald
from presence_client import PresenceClient, Subscription, pidf_document, read_pidf

PASSWORD = "secret-pw"
DEFAULT_INTERVAL = 1.0  # [presence] notify_interval_ms, built-in default


@pytest.fixture
def default_herald(request):
    """A server with the built-in presence settings (NOTIFYs paced every second)."""
    with running_herald() as server:
        request.node.herald_server = server
        for user in ("alice", "bob"):
            server.add_user(user, PASSWORD)
        yield server


def test_first_notify_at_once_then_bursts_coalesced_per_interval(default_herald):
    server = default_herald
    alice_uri = f"sip:alice@{server.domain}"
    with (
        PresenceClient("tcp", server.host, server.sip_port, "bob", server.domain, PASSWORD) as bob,
        PresenceClient("udp", server.host, server.sip_port, "alice", server.domain, PASSWORD) as alice,
    ):
        started = time.monotonic()
        sub = bob.subscribe(alice_uri)
        assert isinstance(sub, Subscription), sub.text()
        first = bob.wait_notify(sub, timeout=2.0)
        assert time.monotonic() - started < 0.5, "the first NOTIFY did not follow the 200 at once"
        assert read_pidf(first.body).availability == 18000

        # Six changes in a burst, well within one interval.
        states = ["busy", "away", "busy", "away", "busy", "away"]
        for activity in states:
            resp = alice.publish(pidf_document(alice_uri, activity=activity))
            assert resp.status == 200, resp.text()
        burst_end = time.monotonic()

        arrivals: list[tuple[float, int]] = []
        deadline = burst_end + 3 * DEFAULT_INTERVAL
        while time.monotonic() < deadline:
            got = bob.no_notify(sub, within=0.2)
            arrivals += [(n.at, read_pidf(n.body).availability) for n in got]
            if arrivals and arrivals[-1][1] == 15000 and time.monotonic() - arrivals[-1][0] > 1.2:
                break
        numbers = [n for _, n in arrivals]
        assert numbers and numbers[-1] == 15000, f"the latest state (away) never came: {numbers}"
        assert len(numbers) <= 3, f"{len(numbers)} NOTIFYs for one burst: {numbers}"
        # NOTIFYs of one subscription are at least an interval apart (the first one
        # after the initial NOTIFY may go at once: that one came long enough before).
        times = [t for t, _ in arrivals]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert all(g > 0.8 * DEFAULT_INTERVAL for g in gaps), f"gaps {gaps} for {numbers}"


def test_publication_ends_with_its_tcp_connection(presence_herald):
    server = presence_herald
    for user in ("alice", "bob"):
        server.add_user(user, PASSWORD)
    alice_uri = f"sip:alice@{server.domain}"
    with PresenceClient("udp", server.host, server.sip_port, "bob", server.domain, PASSWORD) as bob:
        sub = bob.subscribe(alice_uri)
        assert isinstance(sub, Subscription), sub.text()
        assert read_pidf(bob.wait_notify(sub).body).availability == 18000
        alice = PresenceClient("tcp", server.host, server.sip_port, "alice", server.domain, PASSWORD)
        try:
            resp = alice.publish(pidf_document(alice_uri, activity="busy"))
            assert resp.status == 200, resp.text()
            busy = bob.wait_notify(sub, where=lambda n: read_pidf(n.body).availability == 6000)
            assert read_pidf(busy.body).activities == ["busy"]
        finally:
            alice.close()
        gone = bob.wait_notify(sub, timeout=3.0)
        view = read_pidf(gone.body)
        assert view.availability == 18000 and view.basic == ["closed"], gone.text()


def test_removed_user_ends_the_pjsua_watchers_subscription(presence_herald, pjsua_many):
    server = presence_herald
    for user in ("alice", "bob"):
        server.add_user(user, PASSWORD)
    at = f"{server.host}:{server.sip_port}"
    alice = pjsua_many("alice", PASSWORD, "udp", server=at)
    bob = pjsua_many("bob", PASSWORD, "tcp", server=at, publish=True)
    assert alice.register()["code"] == 200
    assert bob.register()["code"] == 200
    bob_uri = f"sip:bob@{server.domain}"
    alice.subscribe(bob_uri)
    alice.wait_presence(bob_uri, status="online", sub_state="ACTIVE")

    server.cli("user", "remove", f"bob@{server.domain}")
    state = alice.wait_presence(bob_uri, timeout=3.0, sub_state="TERMINATED")
    assert state["term_reason"] == "noresource", state
    assert "terminated;reason=noresource" in state["raw"], state["raw"]


def test_crashed_tcp_device_leaves_the_other_device_in_charge(presence_herald, pjsua_many):
    """A device dies without a word (SIGKILL): its TCP connection closes, which ends
    both its binding and its publication; alice's other device speaks for her."""
    server = presence_herald
    for user in ("alice", "bob"):
        server.add_user(user, PASSWORD)
    at = f"{server.host}:{server.sip_port}"
    phone = pjsua_many("alice", PASSWORD, "tcp", server=at, device_id="phone", publish=True)
    pc = pjsua_many("alice", PASSWORD, "udp", server=at, device_id="pc", publish=True)
    bob = pjsua_many("bob", PASSWORD, "udp", server=at)
    for device in (phone, pc, bob):
        assert device.register()["code"] == 200
    alice_uri = f"sip:alice@{server.domain}"
    bob.subscribe(alice_uri)
    phone.publish("online", "busy")
    pc.publish("online", "away")
    bob.wait_presence(alice_uri, status="online", activity="busy")

    phone.kill()
    seen = bob.wait_presence(alice_uri, timeout=3.0, status="online", activity="away")
    assert "<ha:availability>15000</ha:availability>" in seen["raw"], seen["raw"]
