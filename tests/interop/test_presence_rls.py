"""Contact-list subscriptions (RFC 4662 resource lists): alice subscribes to
sip:alice+contacts@DOMAIN with a raw client (PJSIP reads only the first part of a
multipart NOTIFY) and gets her 50 contacts in one multipart/related NOTIFY — an
RLMI root part and one PIDF part per contact — then partial NOTIFYs carrying only
the contacts that changed."""

from __future__ import annotations

import pytest

from presence_client import (
    ListNotify,
    PresenceClient,
    Subscription,
    pidf_document,
    read_list_notify,
)

PASSWORD = "secret-pw"
CONTACTS = [f"user{i:02d}" for i in range(50)]
LIST_ACCEPT = "application/pidf+xml, application/rlmi+xml, multipart/related"


@pytest.fixture
def fifty_contacts(presence_herald):
    """A server with alice, bob and user00..user49, all 50 on alice's contact list."""
    server = presence_herald
    lines = [f"sip:alice@{server.domain},{PASSWORD},Alice", f"sip:bob@{server.domain},{PASSWORD}"]
    lines += [f"sip:{u}@{server.domain},{PASSWORD},User {u[4:]}" for u in CONTACTS]
    users = server.data_dir / "users.csv"
    users.write_text("\n".join(lines) + "\n")
    server.cli("user", "import", str(users))
    for u in CONTACTS:
        server.cli("contacts", "add", f"alice@{server.domain}", f"{u}@{server.domain}")
    return server


def list_uri(server, owner: str = "alice") -> str:
    return f"sip:{owner}+contacts@{server.domain}"


def subscribe_list(client: PresenceClient, server, extra: list[str] | None = None):
    return client.subscribe(
        list_uri(server),
        accept=LIST_ACCEPT,
        extra=["Supported: eventlist"] if extra is None else extra,
        expires=300,
    )


def read_list(notify) -> ListNotify:
    assert "eventlist" in (notify.first("require") or ""), notify.text()
    assert (notify.first("event") or "").startswith("presence"), notify.text()
    return read_list_notify(notify)


def check_full_list(server, doc: ListNotify) -> None:
    """The whole list, everyone offline, each resource with its own PIDF part."""
    assert doc.full_state and doc.uri == list_uri(server), doc.uri
    assert [r.uri for r in doc.resources] == [f"sip:{u}@{server.domain}" for u in CONTACTS]
    assert len(doc.parts) == 1 + 50, [p.content_type for p in doc.parts]
    assert [p.content_type for p in doc.parts[1:]] == ["application/pidf+xml"] * 50
    for r in doc.resources:
        assert r.state == "active" and r.pidf is not None, r
        assert r.pidf.entity == r.uri, (r.uri, r.pidf.entity)
        assert r.pidf.basic == ["closed"] and r.pidf.availability == 18000, r
        assert r.name == f"User {r.uri[8:10]}", r


def test_fifty_contacts_in_one_notify_then_only_what_changed(fifty_contacts):
    server = fifty_contacts
    with PresenceClient("tcp", server.host, server.sip_port, "alice", server.domain, PASSWORD) as a:
        sub = subscribe_list(a, server)
        assert isinstance(sub, Subscription), sub.text()
        assert "eventlist" in (sub.response.first("require") or ""), sub.response.text()

        first = a.wait_notify(sub)
        full = read_list(first)
        check_full_list(server, full)

        # user07 signs in: a partial NOTIFY with user07 alone, one version up.
        with PresenceClient("udp", server.host, server.sip_port, "user07", server.domain, PASSWORD) as u7:
            assert u7.register().status == 200
            doc = read_list(a.wait_notify(sub))
            assert not doc.full_state and doc.version == full.version + 1, doc
            assert [r.uri for r in doc.resources] == [f"sip:user07@{server.domain}"]
            assert len(doc.parts) == 2
            pidf = doc.resources[0].pidf
            assert pidf is not None and pidf.open and pidf.availability == 3500, pidf

            # ... and publishes busy: again just user07.
            resp = u7.publish(pidf_document(f"sip:user07@{server.domain}", activity="busy"))
            assert resp.status == 200, resp.text()
            doc = read_list(a.wait_notify(sub))
            assert not doc.full_state and doc.version == full.version + 2, doc
            assert [r.uri for r in doc.resources] == [f"sip:user07@{server.domain}"]
            pidf = doc.resources[0].pidf
            assert pidf.activities == ["busy"] and pidf.availability == 6000, pidf

            # Someone who is not on the list changes: nothing for alice.
            with PresenceClient("udp", server.host, server.sip_port, "bob", server.domain, PASSWORD) as b:
                assert b.register().status == 200
                assert a.no_notify(sub, within=0.8) == []

            # Two contacts at once: partial NOTIFYs carry those two and nobody else.
            clients = [
                PresenceClient("tcp", server.host, server.sip_port, u, server.domain, PASSWORD)
                for u in ("user10", "user42")
            ]
            try:
                for c in clients:
                    assert c.register().status == 200
                changed: set[str] = set()
                while changed != {"user10", "user42"}:
                    doc = read_list(a.wait_notify(sub))
                    assert not doc.full_state, doc
                    for r in doc.resources:
                        assert r.pidf is not None and r.pidf.availability == 3500, r
                        changed.add(r.uri.split(":")[1].split("@")[0])
                    assert changed <= {"user10", "user42"}, changed
            finally:
                for c in clients:
                    c.close()

        # A refresh brings the full state again (RFC 6665 §4.2.1.2).
        resp = a.resubscribe(sub, 300, accept=LIST_ACCEPT)
        assert resp.status == 200, resp.text()
        doc = read_list(a.wait_notify(sub, where=lambda n: b'fullState="true"' in n.body))
        assert doc.full_state and len(doc.resources) == 50 and len(doc.parts) == 51
        # user07's UDP registration and publication outlive the closed socket.
        busy = doc.by_uri()[f"sip:user07@{server.domain}"].pidf
        assert busy is not None and busy.availability == 6000, busy


def test_list_notify_too_large_for_udp_comes_over_tcp(fifty_contacts):
    """Subscribed over UDP: the 50-contact NOTIFY cannot be one datagram, so it
    arrives over a TCP connection the server opens to the Contact address."""
    server = fifty_contacts
    with PresenceClient(
        "udp", server.host, server.sip_port, "alice", server.domain, PASSWORD, listen_tcp=True
    ) as a:
        sub = subscribe_list(a, server)
        assert isinstance(sub, Subscription), sub.text()
        notify = a.wait_notify(sub)
        assert notify.via == "tcp-in", f"the list NOTIFY came over {notify.via}"
        assert len(notify.raw) > 1300, len(notify.raw)
        check_full_list(server, read_list(notify))


@pytest.mark.parametrize(
    "who, extra, status",
    [
        ("bob", ["Supported: eventlist"], 403),  # only alice may watch her list
        ("alice", [], 421),  # a list needs the eventlist extension
    ],
)
def test_list_subscription_refusals(fifty_contacts, who, extra, status):
    server = fifty_contacts
    with PresenceClient("udp", server.host, server.sip_port, who, server.domain, PASSWORD) as c:
        resp = subscribe_list(c, server, extra=extra)
        assert not isinstance(resp, Subscription), f"{who} subscribed to alice's list"
        assert resp.status == status, resp.text()
        if status == 421:
            assert "eventlist" in (resp.first("require") or ""), resp.text()


def test_list_follows_the_owners_edits_and_the_contacts_rules(fifty_contacts):
    """A contact added to the list while alice watches it: the list NOTIFY has the
    full state again, 51 resources. A contact who blocks alice: she sees that
    contact offline from then on, however busy they are."""
    server = fifty_contacts
    server.add_user("zoe", PASSWORD, "Zoe")
    with (
        PresenceClient("tcp", server.host, server.sip_port, "alice", server.domain, PASSWORD) as a,
        PresenceClient("udp", server.host, server.sip_port, "user05", server.domain, PASSWORD) as u5,
    ):
        resp = u5.publish(pidf_document(f"sip:user05@{server.domain}", activity="busy"))
        assert resp.status == 200, resp.text()
        sub = subscribe_list(a, server)
        assert isinstance(sub, Subscription), sub.text()
        full = read_list(a.wait_notify(sub))
        assert len(full.resources) == 50
        assert full.by_uri()[f"sip:user05@{server.domain}"].pidf.availability == 6000

        server.cli("contacts", "add", f"alice@{server.domain}", f"zoe@{server.domain}")
        doc = read_list(a.wait_notify(sub, timeout=3.0))
        assert doc.full_state and doc.version > full.version, doc
        assert [r.uri for r in doc.resources][-1] == f"sip:zoe@{server.domain}"
        assert len(doc.resources) == 51 and len(doc.parts) == 52
        zoe = doc.by_uri()[f"sip:zoe@{server.domain}"]
        assert zoe.name == "Zoe" and zoe.pidf is not None and zoe.pidf.availability == 18000, zoe

        server.cli(
            "access", "set", f"user05@{server.domain}", f"alice@{server.domain}",
            "--level", "blocked",
        )
        doc = read_list(a.wait_notify(sub, timeout=3.0))
        user05 = doc.by_uri()[f"sip:user05@{server.domain}"]
        assert user05.pidf is not None, user05
        assert user05.pidf.availability == 18000 and user05.pidf.basic == ["closed"], user05
        assert user05.pidf.activities == [], user05
        if not doc.full_state:
            assert [r.uri for r in doc.resources] == [f"sip:user05@{server.domain}"], doc

        # user05's next change is not for alice's eyes: no NOTIFY at all.
        resp = u5.publish(pidf_document(f"sip:user05@{server.domain}", activity="away"))
        assert resp.status == 200, resp.text()
        assert a.no_notify(sub, within=0.8) == []
