"""Pager-mode instant messages (out-of-dialog MESSAGE, RFC 3428) through Herald, with
real pjsua2 devices: Alice has two devices, Bob one. A MESSAGE to an AOR is forked to
every registered device over the flow it registered on; typing notifications (RFC
3994) pass the same way. Negative cases (no credentials, spoofed From, unknown
recipient, too large a body) use the raw client of sipclient.py."""

from __future__ import annotations

import re

import pytest

from conftest import raw_message
from sipclient import SipClient, parse_challenge

# Skipped (with the reason) only while the server answers MESSAGE 405: IM not there yet.
pytestmark = pytest.mark.usefixtures("require_im")

ALICE_PW, BOB_PW = "alice-pw", "bob-pw"
TRANSPORTS = ["udp", "tcp"]


def server_address(herald) -> str:
    return f"{herald.host}:{herald.sip_port}"


def aor(herald, user: str) -> str:
    return f"sip:{user}@{herald.domain}"


def add_users(herald) -> None:
    herald.add_user("alice", ALICE_PW, "Alice")
    herald.add_user("bob", BOB_PW, "Bob")


def registered(pjsua, herald, user: str, password: str, transport: str, device_id: str):
    device = pjsua(user, password, transport, server=server_address(herald), device_id=device_id)
    state = device.register()
    assert state["code"] == 200, state
    return device


@pytest.fixture
def alice_and_bob(herald, pjsua, request):
    """Alice on two devices (one UDP, one TCP), Bob on one of `transport`."""
    transport = request.param
    add_users(herald)
    phone = registered(pjsua, herald, "alice", ALICE_PW, "udp", "phone")
    laptop = registered(pjsua, herald, "alice", ALICE_PW, "tcp", "laptop")
    bob = registered(pjsua, herald, "bob", BOB_PW, transport, "bob1")
    return phone, laptop, bob


def uri_user(uri: str) -> str:
    return uri.strip("<>").split(";")[0]


@pytest.mark.parametrize("alice_and_bob", TRANSPORTS, indirect=True)
def test_message_reaches_every_device_of_the_recipient(herald, alice_and_bob):
    phone, laptop, bob = alice_and_bob
    status = bob.message(aor(herald, "alice"), "lunch at noon?")
    assert status["code"] == 200, status
    for device in (phone, laptop):
        got = device.wait_for("im", body="lunch at noon?")
        assert uri_user(got["from"]) == aor(herald, "bob"), got
        assert got["content_type"] == "text/plain", got
        assert got["call"] is None, got
        # Forked over the flow the device registered on: same transport as its binding.
        top_via = re.search(r"^(?:via|v)[ \t]*:(.*)$", got["raw"], re.IGNORECASE | re.MULTILINE)
        assert top_via and f"SIP/2.0/{device.transport.upper()}" in top_via.group(1).upper(), got["raw"]

    # And the other way: Bob's only device gets Alice's answer, Alice gets 200.
    status = laptop.message(aor(herald, "bob"), "yes, see you")
    assert status["code"] == 200, status
    got = bob.wait_for("im", body="yes, see you")
    assert uri_user(got["from"]) == aor(herald, "alice"), got
    # Each device received each message once.
    for device in (phone, laptop):
        assert len(device.all("im", body="lunch at noon?")) == 1
    assert len(bob.all("im")) == 1


@pytest.mark.parametrize("alice_and_bob", TRANSPORTS, indirect=True)
def test_typing_notifications_reach_every_device(herald, alice_and_bob):
    phone, laptop, bob = alice_and_bob
    bob.send("typing", to=aor(herald, "alice"), typing=True)
    for device in (phone, laptop):
        typing = device.wait_for("typing")
        assert typing["is_typing"] is True, typing
        assert uri_user(typing["from"]) == aor(herald, "bob"), typing
        assert "application/im-iscomposing+xml" in typing["raw"], typing["raw"]
    bob.send("typing", to=aor(herald, "alice"), typing=False)
    for device in (phone, laptop):
        assert device.wait_for("typing")["is_typing"] is False
        assert device.all("im") == [], "a typing notification was reported as a message"


def test_sender_gets_200_when_one_of_the_devices_answers(herald, pjsua):
    add_users(herald)
    # A stale binding nobody answers at (nothing listens on that UDP port) and a live device.
    with SipClient("udp", herald.host, herald.sip_port) as probe:
        dead_port = probe.local[1]
    with SipClient("udp", herald.host, herald.sip_port) as client:
        resp = client.register(
            "alice", herald.domain, ALICE_PW, [f"sip:alice@127.0.0.1:{dead_port};transport=udp"]
        )
    assert resp.status == 200, resp.raw
    phone = registered(pjsua, herald, "alice", ALICE_PW, "tcp", "phone")
    bob = registered(pjsua, herald, "bob", BOB_PW, "udp", "bob1")

    status = bob.message(aor(herald, "alice"), "anyone there?")
    assert status["code"] == 200, status
    assert phone.wait_for("im", body="anyone there?")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_message_without_credentials_is_challenged_407(herald, pjsua, transport):
    add_users(herald)
    phone = registered(pjsua, herald, "alice", ALICE_PW, "udp", "phone")
    with SipClient(transport, herald.host, herald.sip_port) as client:
        first, _ = raw_message(client, "bob", herald.domain, None, aor(herald, "alice"), b"unauthenticated")
    assert first.status == 407, first.raw
    challenges = [parse_challenge(v) for v in first.all("proxy-authenticate")]
    assert challenges, first.raw
    assert all(c.get("realm") == herald.domain and c.get("nonce") for c in challenges), first.raw
    assert first.all("www-authenticate") == [], "MESSAGE is challenged as a proxy (407), not 401"
    # Nothing was delivered.
    phone.expect_none("im")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_authenticated_raw_message_is_delivered(herald, pjsua, transport):
    # The raw client's own digest path (SHA-256 and MD5) works: the negative cases
    # below differ from this one by one thing each.
    add_users(herald)
    phone = registered(pjsua, herald, "alice", ALICE_PW, "udp", "phone")
    for algorithm in ("SHA-256", "MD5"):
        with SipClient(transport, herald.host, herald.sip_port) as client:
            body = f"raw via {algorithm}".encode()
            first, final = raw_message(
                client, "bob", herald.domain, BOB_PW, aor(herald, "alice"), body, algorithm=algorithm
            )
        assert first.status == 407 and final is not None, first.raw
        assert final.status == 200, final.raw
        assert phone.wait_for("im", body=body.decode())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_spoofed_from_is_forbidden(herald, pjsua, transport):
    add_users(herald)
    herald.add_user("carol", "carol-pw")
    phone = registered(pjsua, herald, "alice", ALICE_PW, "udp", "phone")
    with SipClient(transport, herald.host, herald.sip_port) as client:
        # Bob authenticates as bob but claims to be carol.
        _, final = raw_message(
            client, "bob", herald.domain, BOB_PW, aor(herald, "alice"), b"I am carol",
            from_uri=aor(herald, "carol"),
        )
    assert final is not None and final.status == 403, final.raw if final else None
    phone.expect_none("im")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_recipient_is_404(herald, transport):
    # Only after authenticating: an unauthenticated 404 would tell anyone which users exist.
    add_users(herald)
    with SipClient(transport, herald.host, herald.sip_port) as client:
        _, final = raw_message(client, "bob", herald.domain, BOB_PW, aor(herald, "nobody"), b"hello?")
    assert final is not None and final.status == 404, final.raw if final else None


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_body_above_the_limit_is_413(herald_with, pjsua, transport):
    herald = herald_with("[im]\nmax_body_bytes = 1024\n")
    add_users(herald)
    phone = registered(pjsua, herald, "alice", ALICE_PW, "tcp", "phone")
    with SipClient(transport, herald.host, herald.sip_port) as client:
        first, final = raw_message(client, "bob", herald.domain, BOB_PW, aor(herald, "alice"), b"x" * 1025)
    # Refusing it before or after authenticating are both fine.
    answer = final or first
    assert answer.status == 413, answer.raw
    with SipClient(transport, herald.host, herald.sip_port) as client:
        _, final = raw_message(client, "bob", herald.domain, BOB_PW, aor(herald, "alice"), b"y" * 1024)
    assert final is not None and final.status == 200, final.raw if final else None
    assert phone.wait_for("im", body="y" * 1024)
    assert phone.all("im", body="x" * 1025) == []


def test_default_limit_is_32_kib(herald):
    # Bob has no device: an accepted MESSAGE is stored (202), so the recipient's own
    # packet size limit plays no part. 32 768 bytes is the default max_body_bytes
    # (kept well below the transport's 65 535-byte message limit).
    add_users(herald)
    with SipClient("tcp", herald.host, herald.sip_port) as client:
        first, final = raw_message(client, "alice", herald.domain, ALICE_PW, aor(herald, "bob"), b"z" * 32768)
    answer = final or first
    assert answer.status == 202, answer.raw[:300]
    with SipClient("tcp", herald.host, herald.sip_port) as client:
        first, final = raw_message(client, "alice", herald.domain, ALICE_PW, aor(herald, "bob"), b"z" * 32769)
    answer = final or first
    assert answer.status == 413, answer.raw[:300]


def test_a_message_over_the_transport_limit_gets_513(herald):
    add_users(herald)
    with SipClient("tcp", herald.host, herald.sip_port) as client:
        first, final = raw_message(client, "alice", herald.domain, ALICE_PW, aor(herald, "bob"), b"z" * 70000)
    answer = final or first
    assert answer.status == 513, answer.raw[:300]
