"""Watcher information (RFC 3857/3858): alice, with a raw client (pjsua2 has no
presence.winfo API), watches who watches her while real pjsua2 clients subscribe to
her presence. A stranger is pending (someone to ask her about), becomes active once
she decides (an access level or her contact list), and is terminated when he
unsubscribes or she blocks him."""

from __future__ import annotations

import pytest

from presence_client import PresenceClient, Subscription, WatcherInfo, read_watcherinfo

PASSWORD = "secret-pw"
WINFO = "application/watcherinfo+xml"


class WinfoWatch:
    """Alice's presence.winfo subscription and the documents it brought so far."""

    def __init__(self, client: PresenceClient, sub: Subscription):
        self.client, self.sub = client, sub
        self.docs: list[WatcherInfo] = []

    def next(self, where, timeout: float = 5.0) -> WatcherInfo:
        """The next document for which `where(doc)` holds; every document on the way
        must be a full one with a higher version than the one before (RFC 3857 §5.4)."""
        found: list[WatcherInfo] = []

        def check(notify) -> bool:
            assert (notify.first("content-type") or "").startswith(WINFO), notify.text()
            assert (notify.first("event") or "").startswith("presence.winfo"), notify.text()
            doc = read_watcherinfo(notify.body)
            assert doc.state == "full", notify.text()
            if self.docs:
                assert doc.version > self.docs[-1].version, (self.docs[-1], doc)
            assert doc.resource == self.client.aor, doc
            self.docs.append(doc)
            if where(doc):
                found.append(doc)
                return True
            return False

        self.client.wait_notify(self.sub, timeout, check)
        return found[0]


@pytest.fixture
def winfo(presence_herald):
    """alice@ watching her own watcher info over TCP (users alice, bob, carol)."""
    server = presence_herald
    for user in ("alice", "bob", "carol"):
        server.add_user(user, PASSWORD)
    with PresenceClient("tcp", server.host, server.sip_port, "alice", server.domain, PASSWORD) as a:
        sub = a.subscribe(a.aor, event="presence.winfo", accept=WINFO)
        assert isinstance(sub, Subscription), sub.text()
        watch = WinfoWatch(a, sub)
        first = watch.next(lambda doc: True)
        assert first.watchers == [], first
        yield server, watch


def watcher_device(server, pjsua_many, user: str, transport: str = "udp"):
    device = pjsua_many(user, PASSWORD, transport, server=f"{server.host}:{server.sip_port}")
    assert device.register()["code"] == 200
    return device


@pytest.mark.parametrize("decision", ["access", "contacts"])
def test_stranger_is_pending_then_active_then_terminated(winfo, pjsua_many, decision):
    server, watch = winfo
    bob_uri = f"sip:bob@{server.domain}"
    alice_uri = f"sip:alice@{server.domain}"
    bob = watcher_device(server, pjsua_many, "bob")

    bob.subscribe(alice_uri)
    doc = watch.next(lambda d: d.status_of(bob_uri))
    assert doc.status_of(bob_uri) == ["pending"], doc
    assert [w.event for w in doc.watchers] == ["subscribe"], doc
    # Pending is a question to alice, not an answer to bob: he sees her (offline now).
    bob.wait_presence(alice_uri, status="offline", sub_state="ACTIVE")

    if decision == "access":
        server.cli("access", "set", "alice@example.com", "bob@example.com", "--level", "friends")
    else:
        server.cli("contacts", "add", "alice@example.com", "bob@example.com")
    doc = watch.next(lambda d: d.status_of(bob_uri) == ["active"])
    assert [w.event for w in doc.watchers] == ["approved"], doc

    bob.unsubscribe(alice_uri)
    doc = watch.next(lambda d: d.status_of(bob_uri) != ["active"])
    assert doc.status_of(bob_uri) == ["terminated"], doc
    # Reported once: the next document no longer lists him.
    carol = watcher_device(server, pjsua_many, "carol", "tcp")
    carol.subscribe(alice_uri)
    doc = watch.next(lambda d: d.status_of(f"sip:carol@{server.domain}"))
    assert doc.status_of(bob_uri) == [], doc


def test_known_watcher_is_active_at_once_and_blocking_terminates(winfo, pjsua_many):
    server, watch = winfo
    bob_uri = f"sip:bob@{server.domain}"
    carol_uri = f"sip:carol@{server.domain}"
    alice_uri = f"sip:alice@{server.domain}"
    server.cli("contacts", "add", "alice@example.com", "carol@example.com")
    carol = watcher_device(server, pjsua_many, "carol", "tcp")
    bob = watcher_device(server, pjsua_many, "bob")

    carol.subscribe(alice_uri)
    doc = watch.next(lambda d: d.status_of(carol_uri))
    assert doc.status_of(carol_uri) == ["active"], doc

    bob.subscribe(alice_uri)
    doc = watch.next(lambda d: d.status_of(bob_uri))
    assert doc.status_of(bob_uri) == ["pending"] and doc.status_of(carol_uri) == ["active"], doc

    server.cli("access", "set", "alice@example.com", "bob@example.com", "--level", "blocked")
    doc = watch.next(lambda d: d.status_of(bob_uri) != ["pending"])
    assert doc.status_of(bob_uri) == ["terminated"], doc
    assert [w.event for w in doc.watchers if w.uri == bob_uri] == ["rejected"], doc
    assert doc.status_of(carol_uri) == ["active"], doc
    # Blocked is not unsubscribed: bob keeps a subscription that shows her offline.
    seen = bob.wait_presence(alice_uri, status="offline")
    assert seen["sub_state"] == "ACTIVE", seen


def test_watcher_info_is_only_for_its_owner(presence_herald):
    server = presence_herald
    for user in ("alice", "bob"):
        server.add_user(user, PASSWORD)
    with PresenceClient("udp", server.host, server.sip_port, "bob", server.domain, PASSWORD) as b:
        resp = b.subscribe(f"sip:alice@{server.domain}", event="presence.winfo", accept=WINFO)
        assert not isinstance(resp, Subscription), "bob got alice's watcher list"
        assert resp.status == 403, resp.text()
