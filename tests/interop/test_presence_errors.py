"""Presence requests a real client can get wrong, and what Herald answers: digest
challenges like REGISTER (401), PUBLISH for someone else (403), SUBSCRIBE to a user
who does not exist (404), a broken PIDF (400), and the RFC 3903 entity-tag and
expiry rules (412, 423 with Min-Expires)."""

from __future__ import annotations

import pytest

from presence_client import PresenceClient, Subscription, pidf_document

PASSWORD = "secret-pw"


@pytest.fixture
def users(presence_herald):
    server = presence_herald
    for user in ("alice", "bob"):
        server.add_user(user, PASSWORD)
    return server


def client(server, user: str = "alice", transport: str = "udp") -> PresenceClient:
    return PresenceClient(transport, server.host, server.sip_port, user, server.domain, PASSWORD)


def test_pjsua_buddy_for_an_unknown_user_gets_404(users, pjsua_many):
    server = users
    alice = pjsua_many("alice", PASSWORD, "udp", server=f"{server.host}:{server.sip_port}")
    assert alice.register()["code"] == 200
    alice.subscribe(f"sip:nobody@{server.domain}")
    state = alice.wait_presence(f"sip:nobody@{server.domain}", sub_state="TERMINATED")
    assert state["term_code"] == 404, state
    assert state["status"] != "online", state


@pytest.mark.parametrize("method", ["PUBLISH", "SUBSCRIBE"])
def test_requests_are_challenged_like_register(users, method):
    with client(users) as c:
        headers = [
            f"From: <{c.aor}>;tag=1a2b",
            f"To: <{c.aor}>",
            "Event: presence",
            f"Contact: {c.contact()}",
        ]
        body = pidf_document(c.aor) if method == "PUBLISH" else b""
        if body:
            headers.append("Content-Type: application/pidf+xml")
        resp = c.request(method, c.aor, headers, body)
        assert resp.status == 401, resp.text()
        algorithms = {
            v.split("algorithm=", 1)[1].split(",")[0].strip() for v in resp.all("www-authenticate")
        }
        assert {"SHA-256", "MD5"} <= algorithms, resp.all("www-authenticate")


def test_publish_for_someone_else_is_forbidden(users):
    with client(users, "alice") as c:
        bob = f"sip:bob@{users.domain}"
        resp = c.publish(pidf_document(bob, activity="away"), target=bob)
        assert resp.status == 403, resp.text()
    # And nothing of it reached bob's presence.
    with client(users, "bob", "tcp") as watcher:
        sub = watcher.subscribe(f"sip:bob@{users.domain}")
        assert isinstance(sub, Subscription), sub.text()
        notify = watcher.wait_notify(sub)
        assert b"<basic>closed</basic>" in notify.body and b"away" not in notify.body


def test_subscribe_to_an_unknown_user_is_404(users):
    with client(users) as c:
        resp = c.subscribe(f"sip:nobody@{users.domain}")
        assert not isinstance(resp, Subscription), "subscribed to a user who does not exist"
        assert resp.status == 404, resp.text()


@pytest.mark.parametrize(
    "body",
    [
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@example.com'><tuple",
        b"<?xml version='1.0'?><html><body>not presence</body></html>",
        b"this is not XML at all",
    ],
    ids=["truncated", "not-pidf", "not-xml"],
)
def test_bad_pidf_is_400(users, body):
    with client(users) as c:
        resp = c.publish(body)
        assert resp.status == 400, resp.text()


def test_entity_tags_and_expiry_rules(users):
    with client(users, "alice", "tcp") as c:
        too_brief = c.publish(pidf_document(c.aor), expires=30)
        assert too_brief.status == 423 and too_brief.first("min-expires") == "60", too_brief.text()

        first = c.publish(pidf_document(c.aor, activity="busy"), expires=120)
        assert first.status == 200, first.text()
        etag = first.first("sip-etag")
        assert etag and first.first("expires") == "120", first.text()

        refreshed = c.publish(b"", etag=etag, expires=120)
        assert refreshed.status == 200, refreshed.text()
        new_etag = refreshed.first("sip-etag")
        assert new_etag and new_etag != etag, refreshed.text()

        stale = c.publish(b"", etag=etag, expires=120)
        assert stale.status == 412, stale.text()
        # Someone else's entity tag is unknown for bob as well.
        with client(users, "bob") as b:
            assert b.publish(b"", etag=new_etag, expires=120).status == 412

        removed = c.publish(b"", etag=new_etag, expires=0)
        assert removed.status == 200, removed.text()
        assert c.publish(b"", etag=new_etag, expires=120).status == 412
