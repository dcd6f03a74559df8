"""Who sees what of alice's presence, set with the CLI while the server runs:
a blocked watcher sees her offline whatever she does (and is told so at once when
blocked while watching), privacy mode hides her from everyone off her contact list,
Colleagues (her contacts) see her state but not her personal note, Friends see the
note too, and the default (Public) sees her availability only."""

from __future__ import annotations

import re
import time

import pytest

from presence_client import PresenceClient, pidf_document, read_pidf

PASSWORD = "secret-pw"


def availability(state: dict) -> int | None:
    m = re.search(r"<ha:availability>(\d+)</ha:availability>", state.get("raw", ""))
    return int(m.group(1)) if m else None


def notify_body(state: dict) -> str:
    """The body of the NOTIFY behind a buddy_state."""
    return state["raw"].split("\r\n\r\n", 1)[1]


class Office:
    """Users of one server as pjsua2 devices, alice publishing, the others watching."""

    def __init__(self, server, start_device):
        self.server, self.start_device = server, start_device
        self.devices = {}

    def aor(self, user: str) -> str:
        return f"{user}@{self.server.domain}"

    def uri(self, user: str) -> str:
        return f"sip:{self.aor(user)}"

    def join(self, user: str, publish: bool = False, transport: str = "udp"):
        self.server.add_user(user, PASSWORD)
        device = self.start_device(
            user,
            PASSWORD,
            transport,
            server=f"{self.server.host}:{self.server.sip_port}",
            publish=publish,
        )
        assert device.register()["code"] == 200
        self.devices[user] = device
        return device

    def access(self, owner: str, watcher: str, level: str) -> None:
        self.server.cli("access", "set", self.aor(owner), self.aor(watcher), "--level", level)


@pytest.fixture
def office(presence_herald, pjsua_many):
    return Office(presence_herald, pjsua_many)


def test_blocked_watcher_always_sees_the_offline_document(office):
    alice = office.join("alice", publish=True)
    bob = office.join("bob")
    carol = office.join("carol")
    office.access("alice", "bob", "blocked")
    alice.publish("online", "busy", "Busy all day")

    bob.subscribe(office.uri("alice"))
    carol.subscribe(office.uri("alice"))
    carol.wait_presence(office.uri("alice"), status="online", activity="busy")
    first = bob.wait_presence(office.uri("alice"), status="offline")

    alice.publish("online", "away")
    carol.wait_presence(office.uri("alice"), activity="away")
    alice.publish("online")
    carol.wait_presence(office.uri("alice"), status="online", activity="unknown")

    # Alice really goes offline: carol's document is what bob had all along, byte
    # for byte (he cannot tell blocked from offline).
    alice.send("unregister")
    offline = carol.wait_presence(office.uri("alice"), status="offline")
    bob_states = [
        s for s in bob.all("buddy_state", uri=office.uri("alice")) if s["sub_state"] == "ACTIVE"
    ]
    assert bob_states, "bob never had an active subscription"
    assert {s["status"] for s in bob_states} == {"offline"}, bob_states
    assert availability(first) == 18000 and "Busy all day" not in first["raw"], first["raw"]
    assert {notify_body(s) for s in bob_states} == {notify_body(offline)}
    # Nor can he tell from NOTIFYs arriving when she changes: he got just the first.
    notifies = {re.search(r"CSeq: (\d+) NOTIFY", s["raw"]).group(1) for s in bob_states}
    assert notifies == {"1"}, f"bob was sent NOTIFYs {sorted(notifies)} while blocked"


def test_blocking_a_watcher_tells_him_offline_at_once_and_unblocking_restores(office):
    alice = office.join("alice", publish=True)
    bob = office.join("bob", transport="tcp")
    alice.publish("online", "busy")
    bob.subscribe(office.uri("alice"))
    seen = bob.wait_presence(office.uri("alice"), status="online", activity="busy")
    assert availability(seen) == 6000

    started = time.monotonic()
    office.access("alice", "bob", "blocked")
    seen = bob.wait_presence(office.uri("alice"), timeout=3.0, status="offline")
    took = time.monotonic() - started
    assert availability(seen) == 18000 and "busy" not in notify_body(seen), seen["raw"]
    assert took < 2.0, f"the blocked watcher heard of it only after {took:.1f}s"

    office.access("alice", "bob", "public")
    seen = bob.wait_presence(office.uri("alice"), timeout=3.0, status="online", activity="busy")
    assert availability(seen) == 6000


def test_privacy_mode_hides_her_from_everyone_off_her_contact_list(office):
    alice = office.join("alice", publish=True)
    carol = office.join("carol")  # on alice's contact list
    dave = office.join("dave")  # a stranger
    office.server.cli("contacts", "add", office.aor("alice"), office.aor("carol"))
    alice.publish("online", "busy")
    for watcher in (carol, dave):
        watcher.subscribe(office.uri("alice"))
        watcher.wait_presence(office.uri("alice"), status="online", activity="busy")

    office.server.cli("access", "privacy", office.aor("alice"), "on")
    seen = dave.wait_presence(office.uri("alice"), timeout=3.0, status="offline")
    assert availability(seen) == 18000
    time.sleep(0.5)
    assert dave.presence_of(office.uri("alice"))["status"] == "offline"
    assert carol.presence_of(office.uri("alice"))["activity"] == "busy"

    office.server.cli("access", "privacy", office.aor("alice"), "off")
    dave.wait_presence(office.uri("alice"), timeout=3.0, status="online", activity="busy")


def test_colleagues_do_not_see_the_personal_note_friends_do(office):
    alice = office.join("alice", publish=True)
    carol = office.join("carol")  # on her contact list: Colleagues
    erin = office.join("erin")  # Friends
    dave = office.join("dave")  # nobody in particular: Public
    office.server.cli("contacts", "add", office.aor("alice"), office.aor("carol"))
    office.access("alice", "erin", "friends")
    note = "Dentist at 3, back at 4"
    alice.publish("online", "busy", note)
    for watcher in (carol, erin, dave):
        watcher.subscribe(office.uri("alice"))

    seen = erin.wait_presence(office.uri("alice"), status="online", activity="busy", note=note)
    assert availability(seen) == 6000
    for watcher in (carol, dave):
        seen = watcher.wait_presence(office.uri("alice"), status="online", activity="busy")
        assert seen["note"] == "" and "Dentist" not in seen["raw"], (watcher, seen["raw"])
        assert availability(seen) == 6000

    # Promoted to Friends while watching: carol gets the note at once.
    office.access("alice", "carol", "friends")
    carol.wait_presence(office.uri("alice"), timeout=3.0, note=note)
    # Demoted to Colleagues again (the rule goes, the contact list decides).
    office.server.cli("access", "clear", office.aor("alice"), office.aor("carol"))
    seen = carol.wait_presence(office.uri("alice"), timeout=3.0, note="")
    assert seen["activity"] == "busy" and "Dentist" not in seen["raw"], seen["raw"]


def test_colleagues_see_the_out_of_office_note_instead(office):
    """A Herald-aware client publishes an out-of-office note next to its personal
    note (PJSIP cannot): Colleagues see the out-of-office one, Friends the personal
    one, Public neither."""
    server = office.server
    server.add_user("alice", PASSWORD)
    carol = office.join("carol")
    erin = office.join("erin")
    dave = office.join("dave")
    server.cli("contacts", "add", office.aor("alice"), office.aor("carol"))
    office.access("alice", "erin", "friends")
    doc = pidf_document(office.uri("alice"), activity="away", note="Hiking in the Alps")
    doc = doc.replace(
        b"</dm:person>", b"<ha:out-of-office>On leave until Monday</ha:out-of-office></dm:person>"
    )
    with PresenceClient("tcp", server.host, server.sip_port, "alice", server.domain, PASSWORD) as a:
        resp = a.publish(doc)
        assert resp.status == 200, resp.text()
        for watcher in (carol, erin, dave):
            watcher.subscribe(office.uri("alice"))
        seen = {
            name: device.wait_presence(office.uri("alice"), status="online", activity="away")
            for name, device in [("carol", carol), ("erin", erin), ("dave", dave)]
        }
        views = {name: read_pidf(notify_body(s).encode()) for name, s in seen.items()}
        assert seen["carol"]["note"] == "On leave until Monday", seen["carol"]["raw"]
        assert "Hiking" not in seen["carol"]["raw"]
        assert seen["erin"]["note"] == "Hiking in the Alps", seen["erin"]["raw"]
        assert seen["dave"]["note"] == "" and views["dave"].notes == [], seen["dave"]["raw"]
        assert "On leave" not in seen["dave"]["raw"]
        assert {v.availability for v in views.values()} == {15000}
