"""Group IM conferences (issue 5) with real SIP clients: pjsua2 devices (one process
each, pjsua_device.py) registered over UDP and TCP, and the raw presence client for
the roster (pjsua2 has no API for the conference event package).

- alice makes a conference with an INVITE to sip:conf-factory@DOMAIN; the 200's
  Contact names it (`sip:conf-<32 hex>@DOMAIN;isfocus`); bob and carol INVITE that URI.
- A MESSAGE in one participant's dialog reaches every other participant in their
  dialogs with the focus, the sender named in P-Asserted-Identity, and inside a
  message/cpim wrapper for a participant that said it takes CPIM (Accept:
  message/cpim); typing indications too.
- Each call must stay up: PJSIP ends a call at once (ACK, then BYE with Reason 415
  "SDP negotiation failed") when the SDP answer leaves it no active stream.
- The roster (RFC 4575): full NOTIFY, then partial ones at each join and leave.
- REFER in the conference dialog invites a fourth user; NOTIFY sipfrag reports.
- Escalation: a two-party session alice<->bob becomes a conference by an attended
  transfer (REFER with Replaces) from alice's conference call to her two-party call.
- The conference ends with its last participant: its URI then answers 404.

"Nobody gets their own message" is checked without waiting for nothing to happen: the
focus sends into each participant's dialog in order, so once a participant has a
message someone else sent after its own, its own would have come first."""

from __future__ import annotations

import re

import pytest

from presence_client import (
    ConferenceInfo,
    Message,
    PresenceClient,
    Subscription,
    read_conference_info,
)
from sipclient import contact_uri, split_header_list

USERS = ("alice", "bob", "carol", "dave")
CALL_TIMEOUT = 15.0
CONF_URI = re.compile(r"^sip:conf-[0-9a-f]{32}@(\S+)$")
CPIM = "message/cpim"
CONFERENCE_INFO = "application/conference-info+xml"
IS_COMPOSING = "application/im-iscomposing+xml"


def password(user: str) -> str:
    return f"{user}-pw"


def aor(herald, user: str) -> str:
    return f"sip:{user}@{herald.domain}"


@pytest.fixture
def conf_herald(herald):
    """The per-test server with alice, bob, carol and dave."""
    for user in USERS:
        herald.add_user(user, password(user), display_name=user.title())
    return herald


def registered(pjsua_many, herald, user: str, transport: str):
    device = pjsua_many(
        user, password(user), transport, server=f"{herald.host}:{herald.sip_port}", device_id=user
    )
    state = device.register()
    assert state["code"] == 200, state
    return device


# --- reading what the devices got ---


def header_values(raw: str, *names: str) -> list[str]:
    """Every value of the named headers (long and compact names) in a raw message."""
    head = raw.replace("\r\n", "\n").split("\n\n", 1)[0]
    wanted = {n.lower() for n in names}
    out: list[str] = []
    for line in head.split("\n")[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in wanted:
            out.extend(split_header_list(value.strip()))
    return out


def body_of(raw: str) -> str:
    return raw.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in raw else ""


def uri_in(value: str) -> str:
    """The URI of a name-addr (inside <>) or of a bare URI (parameters dropped)."""
    return contact_uri(value).strip()


def asserted_identity(raw: str) -> str:
    """The URI of the one P-Asserted-Identity of a message the focus sent."""
    values = header_values(raw, "p-asserted-identity")
    assert len(values) == 1, f"want one P-Asserted-Identity:\n{raw}"
    return uri_in(values[0])


def parse_cpim(body: str) -> tuple[dict[str, str], dict[str, str], str]:
    """(message headers, content headers, content) of a message/cpim body (RFC 3862);
    header names lower-cased, the first of each kept."""
    text = body.replace("\r\n", "\n")
    message_head, sep, rest = text.partition("\n\n")
    assert sep, f"no end of the CPIM message headers:\n{body}"
    content_head, sep, content = rest.partition("\n\n")
    assert sep, f"no end of the CPIM content headers:\n{body}"

    def headers(block: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in block.split("\n"):
            name, colon, value = line.partition(":")
            assert colon, f"bad CPIM header line {line!r}:\n{body}"
            out.setdefault(name.strip().lower(), value.strip())
        return out

    return headers(message_head), headers(content_head), content


def text_of(im: dict) -> str:
    """What a participant reads: the content of a CPIM wrapper, or the body."""
    if im["content_type"].lower().startswith(CPIM):
        return parse_cpim(im["body"])[2]
    return im["body"]


def referred_by(raw: str) -> list[str]:
    """The URIs of the Referred-By headers of a raw message."""
    return [uri_in(v) for v in header_values(raw, "referred-by", "b")]


def sender_of(im: dict) -> str:
    """Who the focus says sent an in-dialog MESSAGE (P-Asserted-Identity)."""
    return asserted_identity(im["raw"])


def check_attributed(im: dict, device, conf_uri: str, sender: str, cpim: bool, text: str) -> None:
    """`im`, received by `device`, came from the focus naming `sender`: in the call's
    dialog (From: the dialog's remote URI, which is the factory's for the creator and
    the conference's for the others; Contact: the conference, ;isfocus), the sender in
    P-Asserted-Identity and, for a CPIM participant, in the wrapper's From, whose
    content is `text` as text/plain."""
    raw = im["raw"]
    remote = device.all("call_state", call=im["call"])[-1]["remote_uri"]
    assert uri_in(im["from"]) == uri_in(remote), raw
    assert focus_contact(raw) == conf_uri, raw
    assert asserted_identity(raw) == sender, raw
    if cpim:
        assert im["content_type"].lower().startswith(CPIM), raw
        message_headers, content_headers, content = parse_cpim(im["body"])
        assert uri_in(message_headers.get("from", "")) == sender, raw
        assert content_headers.get("content-type", "").lower().startswith("text/plain"), raw
        assert content == text, raw
    else:
        assert im["content_type"].lower().startswith("text/plain"), raw
        assert im["body"] == text, raw


def receive(device, call: str, text: str, timeout: float = CALL_TIMEOUT) -> dict:
    """The MESSAGE carrying `text` that `device` got in call `call`."""
    return device.wait_match(
        "im", lambda e: e["call"] == call and text_of(e) == text, timeout
    )


def say(device, call: str, text: str) -> None:
    """Send `text` in the call's dialog; the focus accepts it with 200."""
    device.send("call_message", call=call, body=text)
    status = device.wait_for("im_status", CALL_TIMEOUT, call=call, body=text)
    assert status["code"] == 200, status


def own_messages(device, call: str, me: str) -> list[dict]:
    """Messages `device` got in `call` naming itself as their sender."""
    return [e for e in device.all("im", call=call) if sender_of(e) == me]


# --- conferences ---


def focus_of(state: dict) -> str:
    """The conference URI: the remote target of a call with the focus (PJSIP's
    CallInfo.remoteContact, the URI of the focus's Contact)."""
    uri = uri_in(state["remote_contact"])
    assert CONF_URI.match(uri), state
    return uri


def focus_contact(raw: str) -> str:
    """The URI of the one Contact of a message the focus sent, which must carry the
    `isfocus` feature tag (RFC 4579)."""
    contacts = header_values(raw, "contact", "m")
    assert len(contacts) == 1, raw
    assert re.search(r";\s*isfocus\b", contacts[0].rsplit(">", 1)[-1]), raw
    return uri_in(contacts[0])


def in_session(device, call: str) -> None:
    """The call is up: an INFO in its dialog gets the focus's 200. Fails, naming why,
    when the device ended the call (PJSIP ends a call whose SDP negotiation failed
    with ACK then BYE)."""
    device.send("call_request", call=call, method="INFO", body="ping")
    try:
        answer = device.wait_for("call_tsx", CALL_TIMEOUT, call=call, method="INFO", role="uac")
    except AssertionError as e:
        ended = device.all("call_state", call=call, state="DISCONNECTED")
        if not ended:
            raise
        last = ended[-1]
        first_line = str(e).split("\n", 1)[0]
        raise AssertionError(
            f"{device!r}: call {call} ended right after it was set up: {last['code']} "
            f"{last['reason']} ({first_line}); the SDP it got:\n{answers_with_sdp(device, call)}"
        ) from None
    assert answer["code"] == 200, answer


def answers_with_sdp(device, call: str) -> str:
    """The raw messages carrying the focus's SDP that `device` received in `call`."""
    found = []
    for e in device.all("call_state", call=call):
        if "application/sdp" in e.get("rx", "") and e["rx"] not in found:
            found.append(e["rx"])
    return "\n".join(found) or "(none reported)"


def create_conference(herald, device, call: str = "conf") -> str:
    """`device` INVITEs the conference factory; returns the conference URI."""
    device.send("call", to=f"sip:conf-factory@{herald.domain}", call=call)
    ok = device.call_state(call, "CONNECTING", CALL_TIMEOUT)["rx"]  # the 200 arrived
    confirmed = device.call_state(call, "CONFIRMED", CALL_TIMEOUT)
    uri = focus_of(confirmed)
    assert CONF_URI.match(uri).group(1) == herald.domain, uri
    assert ok.startswith("SIP/2.0 200"), ok
    assert focus_contact(ok) == uri, ok
    # The 200 record-routes through Herald, so the dialog's requests come back to it.
    record_route = header_values(ok, "record-route")
    assert any(f"{herald.host}:{herald.sip_port}" in rr for rr in record_route), ok
    in_session(device, call)
    return uri


def join(device, conf_uri: str, call: str = "conf", cpim: bool = False) -> dict:
    """`device` INVITEs the conference URI (saying it takes CPIM when `cpim`)."""
    headers = {"Accept": f"{CPIM}, text/plain"} if cpim else {}
    device.send("call", to=conf_uri, call=call, headers=headers)
    ok = device.call_state(call, "CONNECTING", CALL_TIMEOUT)["rx"]
    confirmed = device.call_state(call, "CONFIRMED", CALL_TIMEOUT)
    assert focus_of(confirmed) == conf_uri, confirmed
    assert ok.startswith("SIP/2.0 200") and focus_contact(ok) == conf_uri, ok
    in_session(device, call)
    return confirmed


def watch_roster(herald, conf_uri: str, user: str = "alice", transport: str = "udp"):
    """A raw client as `user` subscribed to the conference's roster, and its dialog."""
    client = PresenceClient(
        transport, herald.host, herald.sip_port, user, herald.domain, password(user)
    )
    sub = client.subscribe(conf_uri, event="conference", accept=CONFERENCE_INFO, expires=600)
    assert isinstance(sub, Subscription), sub.text()
    assert sub.response.status == 200, sub.response.text()
    return client, sub


def roster_notify(client: PresenceClient, sub: Subscription) -> tuple[ConferenceInfo, Message]:
    """The next roster NOTIFY of `sub`: its document and the NOTIFY."""
    notify = client.wait_notify(sub, timeout=CALL_TIMEOUT)
    assert (notify.first("event") or "").split(";")[0].strip() == "conference", notify.text()
    assert (notify.first("content-type") or "").startswith(CONFERENCE_INFO), notify.text()
    return read_conference_info(notify.body), notify


def transfer_final(device, call: str) -> dict:
    """The final transfer status of the REFER sent in `call`, after a 100 Trying."""
    trying = device.wait_for("call_transfer_status", CALL_TIMEOUT, call=call)
    assert trying["code"] == 100 and not trying["final"], trying
    return device.wait_for("call_transfer_status", 60.0, call=call, final=True)


# --- the tests ---


@pytest.mark.parametrize(
    "transports", [("udp", "tcp", "udp"), ("tcp", "udp", "tcp")], ids=["alice-udp", "alice-tcp"]
)
def test_three_users_create_join_and_everyone_hears_the_others_named(
    conf_herald, pjsua_many, transports
):
    herald = conf_herald
    alice, bob, carol = (registered(pjsua_many, herald, u, t) for u, t in zip(USERS, transports))
    me = {d: aor(herald, d.user) for d in (alice, bob, carol)}

    conf = create_conference(herald, alice)
    join(bob, conf)
    join(carol, conf, cpim=True)  # carol reads every message inside a CPIM wrapper
    takes_cpim = {alice: False, bob: False, carol: True}

    # Each says something; the two others get it, from the conference, naming them.
    for speaker in (alice, bob, carol):
        text = f"hello from {speaker.user}"
        say(speaker, "conf", text)
        for listener in (alice, bob, carol):
            if listener is not speaker:
                got = receive(listener, "conf", text)
                check_attributed(got, listener, conf, me[speaker], takes_cpim[listener], text)

    # Five quick messages from bob (no waiting in between) arrive in order.
    quick = [f"bob quick {i}" for i in range(5)]
    for text in quick:
        bob.send("call_message", call="conf", body=text)
    for text in quick:
        status = bob.wait_for("im_status", CALL_TIMEOUT, call="conf", body=text)
        assert status["code"] == 200, status
    for listener in (alice, carol):
        for text in quick:
            got = receive(listener, "conf", text)
            check_attributed(got, listener, conf, me[bob], takes_cpim[listener], text)
        texts = [text_of(e) for e in listener.all("im", call="conf")]
        assert [t for t in texts if t in quick] == quick, texts

    # carol's typing indication fans out too (alice and bob take no CPIM: PJSIP sees
    # a plain isComposing and reports typing); it comes after everything bob sent.
    carol.send("call_typing", call="conf", typing=True)
    for listener in (alice, bob):
        typing = listener.wait_for("typing", CALL_TIMEOUT, call="conf")
        assert typing["is_typing"], typing
        assert asserted_identity(typing["raw"]) == me[carol], typing["raw"]
        content_type = header_values(typing["raw"], "content-type", "c")
        assert content_type and IS_COMPOSING in content_type[0], typing["raw"]

    # bob's typing reaches carol wrapped in CPIM (PJSIP then reports a message whose
    # content is the isComposing document), and alice plain.
    bob.send("call_typing", call="conf", typing=True)
    typing = alice.wait_for("typing", CALL_TIMEOUT, call="conf")
    assert asserted_identity(typing["raw"]) == me[bob], typing["raw"]
    wrapped = carol.wait_match(
        "im", lambda e: e["call"] == "conf" and IS_COMPOSING in e["body"], CALL_TIMEOUT
    )
    message_headers, content_headers, content = parse_cpim(wrapped["body"])
    assert wrapped["content_type"].lower().startswith(CPIM), wrapped["raw"]
    assert uri_in(message_headers.get("from", "")) == me[bob], wrapped["raw"]
    assert content_headers.get("content-type", "").startswith(IS_COMPOSING), wrapped["raw"]
    assert "<state>active</state>" in content.replace(" ", ""), wrapped["raw"]

    # Nobody got their own: alice's and carol's last messages were followed by bob's
    # quick ones, bob's by carol's typing, each of which they got; carol's typing
    # (which would reach her as a CPIM message) was followed by bob's, which she got.
    for device in (alice, bob, carol):
        assert own_messages(device, "conf", me[device]) == [], device
    # And nothing but the others' messages: 2 hellos each, plus bob's five (and his
    # typing, for carol).
    assert len(alice.all("im", call="conf")) == 2 + len(quick)
    assert len(bob.all("im", call="conf")) == 2
    assert len(carol.all("im", call="conf")) == 2 + len(quick) + 1


def test_roster_lists_the_three_then_shows_carol_leaving(conf_herald, pjsua_many):
    herald = conf_herald
    alice = registered(pjsua_many, herald, "alice", "tcp")
    bob = registered(pjsua_many, herald, "bob", "udp")
    carol = registered(pjsua_many, herald, "carol", "tcp")
    conf = create_conference(herald, alice)
    join(bob, conf)
    join(carol, conf)

    client, sub = watch_roster(herald, conf, "bob")
    with client:
        assert sub.response.first("contact") and uri_in(sub.response.first("contact")) == conf
        full, notify = roster_notify(client, sub)
        assert full.state == "full" and full.entity == conf, full.raw
        assert (notify.first("subscription-state") or "").startswith("active"), notify.text()
        users = full.by_entity()
        assert sorted(users) == sorted(aor(herald, u) for u in ("alice", "bob", "carol")), full.raw
        assert full.user_count == 3 and full.active is True, full.raw
        for user in users.values():
            assert user.state == "full", full.raw
            assert [e.status for e in user.endpoints] == ["connected"], full.raw
        assert "moderator" in users[aor(herald, "alice")].roles, full.raw

        carol.send("hangup", call="conf")
        carol.call_state("conf", "DISCONNECTED", CALL_TIMEOUT)

        partial, _ = roster_notify(client, sub)
        assert partial.state == "partial" and partial.version == full.version + 1, partial.raw
        assert [u.entity for u in partial.users] == [aor(herald, "carol")], partial.raw
        gone = partial.users[0]
        assert gone.state == "deleted", partial.raw
        assert [(e.state, e.status, e.disconnection_method) for e in gone.endpoints] == [
            ("deleted", "disconnected", "departed")
        ], partial.raw
        assert partial.user_count == 2, partial.raw

    # The two left still talk; carol hears nothing any more.
    say(alice, "conf", "without carol")
    got = receive(bob, "conf", "without carol")
    check_attributed(got, bob, conf, aor(herald, "alice"), False, "without carol")
    assert carol.all("im", call="conf") == []


def test_refer_invites_a_fourth_user_who_then_talks_with_everyone(conf_herald, pjsua_many):
    herald = conf_herald
    alice = registered(pjsua_many, herald, "alice", "udp")
    bob = registered(pjsua_many, herald, "bob", "tcp")
    carol = registered(pjsua_many, herald, "carol", "udp")
    dave = registered(pjsua_many, herald, "dave", "tcp")
    conf = create_conference(herald, alice)
    join(bob, conf, cpim=True)
    join(carol, conf)
    client, sub = watch_roster(herald, conf, "carol", "tcp")
    with client:
        full, _ = roster_notify(client, sub)
        assert len(full.users) == 3, full.raw

        alice.send("xfer", call="conf", to=aor(herald, "dave"))
        # The focus INVITEs dave's device: from the conference, referred by alice,
        # without an offer (pjsua offers in its 200, the focus answers in the ACK).
        incoming = dave.wait_for("incoming_call", CALL_TIMEOUT)
        invite = incoming["raw"]
        assert uri_in(incoming["from"]) == conf, invite
        assert referred_by(invite) == [aor(herald, "alice")], invite
        assert focus_contact(invite) == conf, invite
        assert body_of(invite) == "", invite
        dave.send("answer", call=incoming["call"], code=200)
        confirmed = dave.call_state(incoming["call"], "CONFIRMED", CALL_TIMEOUT)
        assert focus_of(confirmed) == conf, confirmed
        in_session(dave, incoming["call"])

        final = transfer_final(alice, "conf")
        assert final["code"] == 200, final

        joined, _ = roster_notify(client, sub)
        assert joined.state == "partial", joined.raw
        assert [u.entity for u in joined.users] == [aor(herald, "dave")], joined.raw
        assert [e.joining_method for e in joined.users[0].endpoints] == ["dialed-out"], joined.raw

    on_dave = incoming["call"]
    say(alice, "conf", "welcome dave")
    got = receive(dave, on_dave, "welcome dave")
    check_attributed(got, dave, conf, aor(herald, "alice"), False, "welcome dave")
    say(dave, on_dave, "thanks, dave here")
    for listener, cpim in ((alice, False), (bob, True), (carol, False)):
        got = receive(listener, "conf", "thanks, dave here")
        check_attributed(got, listener, conf, aor(herald, "dave"), cpim, "thanks, dave here")
    # dave's message came after alice's: had dave got his own, it would be there.
    say(bob, "conf", "hi dave")
    receive(dave, on_dave, "hi dave")
    assert own_messages(dave, on_dave, aor(herald, "dave")) == []


def test_two_party_session_escalates_to_a_conference_by_refer_with_replaces(
    conf_herald, pjsua_many
):
    herald = conf_herald
    alice = registered(pjsua_many, herald, "alice", "udp")
    bob = registered(pjsua_many, herald, "bob", "tcp")
    carol = registered(pjsua_many, herald, "carol", "tcp")

    # The two-party session: alice calls bob's AOR through Herald, bob answers.
    alice.send("call", to=aor(herald, "bob"), call="p2p")
    ringing = bob.wait_for("incoming_call", CALL_TIMEOUT)
    bob_p2p = ringing["call"]
    bob.send("answer", call=bob_p2p, code=200)
    p2p_id = alice.call_state("p2p", "CONFIRMED", CALL_TIMEOUT)["call_id"]
    bob.call_state(bob_p2p, "CONFIRMED", CALL_TIMEOUT)
    alice.send("call_message", call="p2p", body="just us two")
    assert uri_in(receive(bob, bob_p2p, "just us two")["from"]) == aor(herald, "alice")

    # alice adds someone: first a conference, then bob moved into it (attended
    # transfer of the two-party call to the conference call).
    conf = create_conference(herald, alice)
    alice.send("xfer_replaces", call="conf", target="p2p")
    replaced = bob.wait_for("call_replaced", CALL_TIMEOUT, call=bob_p2p)
    invite = replaced["raw"]
    assert invite.startswith("INVITE "), replaced
    replaces = header_values(invite, "replaces")
    assert len(replaces) == 1 and replaces[0].split(";")[0].strip() == p2p_id, invite
    assert "replaces" in ",".join(header_values(invite, "require")), invite
    assert referred_by(invite) == [aor(herald, "alice")], invite
    assert focus_contact(invite) == conf, invite
    assert uri_in(replaced["from"]) == conf, replaced
    bob_conf = replaced["new_call"]
    confirmed = bob.call_state(bob_conf, "CONFIRMED", CALL_TIMEOUT)
    assert uri_in(confirmed["remote_uri"]) == conf, confirmed
    assert focus_of(confirmed) == conf, confirmed
    in_session(bob, bob_conf)
    final = transfer_final(alice, "conf")
    assert final["code"] == 200, final

    # The two-party session is over on both sides (bob's PJSIP ended it with BYE).
    ended = alice.call_state("p2p", "DISCONNECTED", CALL_TIMEOUT)
    assert ended["rx"].startswith("BYE "), ended
    bob.call_state(bob_p2p, "DISCONNECTED", CALL_TIMEOUT)

    # Now carol, invited by REFER.
    alice.send("xfer", call="conf", to=aor(herald, "carol"))
    incoming = carol.wait_for("incoming_call", CALL_TIMEOUT)
    assert uri_in(incoming["from"]) == conf, incoming["raw"]
    carol.send("answer", call=incoming["call"], code=200)
    carol_conf = incoming["call"]
    carol.call_state(carol_conf, "CONFIRMED", CALL_TIMEOUT)
    in_session(carol, carol_conf)
    final = transfer_final(alice, "conf")
    assert final["code"] == 200, final

    # All three talk in the conference.
    calls = {alice: "conf", bob: bob_conf, carol: carol_conf}
    for speaker in (alice, bob, carol):
        text = f"{speaker.user} in the conference"
        say(speaker, calls[speaker], text)
        for listener in (alice, bob, carol):
            if listener is not speaker:
                got = receive(listener, calls[listener], text)
                check_attributed(got, listener, conf, aor(herald, speaker.user), False, text)
    # Nothing went to the old two-party calls after they ended.
    assert [text_of(e) for e in bob.all("im", call=bob_p2p)] == ["just us two"]
    assert alice.all("im", call="p2p") == []


def test_conference_ends_with_its_last_participant(conf_herald, pjsua_many):
    herald = conf_herald
    alice = registered(pjsua_many, herald, "alice", "tcp")
    bob = registered(pjsua_many, herald, "bob", "udp")
    conf = create_conference(herald, alice)
    join(bob, conf)
    client, sub = watch_roster(herald, conf, "alice")
    with client:
        full, _ = roster_notify(client, sub)
        assert len(full.users) == 2, full.raw

        bob.send("hangup", call="conf")
        bob.call_state("conf", "DISCONNECTED", CALL_TIMEOUT)
        left, _ = roster_notify(client, sub)
        assert [(u.entity, u.state) for u in left.users] == [(aor(herald, "bob"), "deleted")], left.raw

        alice.send("hangup", call="conf")
        alice.call_state("conf", "DISCONNECTED", CALL_TIMEOUT)
        # The roster subscription ends with the conference.
        last = client.wait_notify(
            sub,
            timeout=CALL_TIMEOUT,
            where=lambda n: (n.first("subscription-state") or "").startswith("terminated"),
        )
        assert read_conference_info(last.body).active is False, last.text()

    # The URI is gone: joining it again gets 404.
    bob.send("call", to=conf, call="again")
    refused = bob.call_state("again", "DISCONNECTED", CALL_TIMEOUT)
    assert refused["code"] == 404, refused
