"""IM archiving: with `[archiving] enabled = true` (or `herald user archiving AOR on`)
every pager and in-dialog MESSAGE to or from the user is recorded, typing
notifications are not; `herald archive export --format jsonl` prints one JSON object
per record. With archiving off nothing is recorded."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

# Skipped (with the reason) only while the server answers MESSAGE 405: IM not there yet.
pytestmark = pytest.mark.usefixtures("require_im")

ALICE_PW, BOB_PW, CAROL_PW = "alice-pw", "bob-pw", "carol-pw"
RECORD_FIELDS = {"time", "from", "to", "call_id", "mode", "content_type", "body"}
TRANSPORTS = ["udp", "tcp"]


def aor(herald, user: str) -> str:
    return f"sip:{user}@{herald.domain}"


def registered(pjsua, herald, user: str, password: str, transport: str, device_id: str):
    device = pjsua(user, password, transport, server=f"{herald.host}:{herald.sip_port}", device_id=device_id)
    state = device.register()
    assert state["code"] == 200, state
    return device


def export(herald, user: str) -> list[dict]:
    out = herald.cli(
        "archive", "export", "--user", f"{user}@{herald.domain}", "--since", "2026-01-01", "--format", "jsonl"
    ).stdout
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    for r in records:
        assert RECORD_FIELDS <= set(r), r
    return records


def bare(uri: str) -> str:
    """user@domain out of an AOR, URI or name-addr (scheme, brackets, parameters
    dropped): the export writes AORs as user@domain."""
    if "<" in uri:
        uri = uri.split("<", 1)[1].split(">", 1)[0]
    uri = uri.split(";", 1)[0]
    return uri[4:] if uri.startswith("sip:") else uri


def exchange(herald, alice, bob) -> tuple[list[tuple[str, str, str]], str]:
    """Pager messages both ways, typing, and a session with one in-dialog MESSAGE.
    Returns the (from, to, body) of every IM sent, and the session's Call-ID."""
    sent = []
    for sender, who, to, body in [
        (alice, "alice", "bob", "pager one"),
        (bob, "bob", "alice", "pager two"),
        (alice, "alice", "bob", "pager three"),
    ]:
        assert sender.message(aor(herald, to), body)["code"] == 200
        sent.append((bare(aor(herald, who)), bare(aor(herald, to)), body))
    alice.send("typing", to=aor(herald, "bob"), typing=True)
    bob.wait_for("typing")

    alice.send("call", to=aor(herald, "bob"), call="c1")
    incoming = bob.wait_for("incoming_call")["call"]
    bob.send("answer", call=incoming, code=200)
    call_id = alice.call_state("c1", "CONFIRMED", 15)["call_id"]
    alice.send("call_message", call="c1", body="in the session")
    assert alice.wait_for("im_status", call="c1")["code"] == 200
    sent.append((bare(aor(herald, "alice")), bare(aor(herald, "bob")), "in the session"))
    alice.send("hangup", call="c1")
    bob.call_state(incoming, "DISCONNECTED", 15)
    return sent, call_id


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_archive_holds_exactly_the_messages_sent_when_enabled(herald_with, pjsua, transport):
    started = time.time()
    herald = herald_with("[archiving]\nenabled = true\n")
    herald.add_user("alice", ALICE_PW)
    herald.add_user("bob", BOB_PW)
    alice = registered(pjsua, herald, "alice", ALICE_PW, transport, "a1")
    bob = registered(pjsua, herald, "bob", BOB_PW, transport, "b1")
    sent, call_id = exchange(herald, alice, bob)

    records = export(herald, "alice")
    got = sorted((bare(r["from"]), bare(r["to"]), r["body"]) for r in records)
    assert got == sorted(sent), json.dumps(records, indent=1)
    assert all("iscomposing" not in r["content_type"] for r in records), records
    by_body = {r["body"]: r for r in records}
    session = by_body["in the session"]
    assert session["call_id"] == call_id, session
    assert {by_body[b]["mode"] for b in ("pager one", "pager two", "pager three")} == {"pager"}, records
    assert session["mode"] == "session", session
    # Times are the real send times (RFC 3339 UTC), within this test.
    for r in records:
        at = datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        assert started - 1 <= at <= time.time() + 1, (r, started)
    assert all(r["content_type"].startswith("text/plain") for r in records), records
    # Bob is in every one of these conversations too.
    assert sorted((bare(r["from"]), bare(r["to"]), r["body"]) for r in export(herald, "bob")) == sorted(sent)


def test_archive_is_empty_when_disabled(herald, pjsua):
    herald.add_user("alice", ALICE_PW)
    herald.add_user("bob", BOB_PW)
    alice = registered(pjsua, herald, "alice", ALICE_PW, "udp", "a1")
    bob = registered(pjsua, herald, "bob", BOB_PW, "tcp", "b1")
    exchange(herald, alice, bob)
    assert export(herald, "alice") == []
    assert export(herald, "bob") == []


def test_per_user_archiving_override(herald, pjsua):
    for user, pw in [("alice", ALICE_PW), ("bob", BOB_PW), ("carol", CAROL_PW)]:
        herald.add_user(user, pw)
    herald.cli("user", "archiving", f"alice@{herald.domain}", "on")
    alice = registered(pjsua, herald, "alice", ALICE_PW, "udp", "a1")
    bob = registered(pjsua, herald, "bob", BOB_PW, "udp", "b1")
    carol = registered(pjsua, herald, "carol", CAROL_PW, "tcp", "c1")

    assert alice.message(aor(herald, "bob"), "alice to bob")["code"] == 200
    assert carol.message(aor(herald, "bob"), "carol to bob")["code"] == 200
    assert bob.message(aor(herald, "carol"), "bob to carol")["code"] == 200

    assert [r["body"] for r in export(herald, "alice")] == ["alice to bob"]
    assert export(herald, "carol") == []

    # Back to the global default (off): later messages are not recorded.
    herald.cli("user", "archiving", f"alice@{herald.domain}", "default")
    assert alice.message(aor(herald, "bob"), "after default")["code"] == 200
    assert [r["body"] for r in export(herald, "alice")] == ["alice to bob"]
