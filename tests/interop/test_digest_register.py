"""Digest REGISTER with the independent Python client (sipclient.py), both algorithms
Herald offers, UDP and TCP: success, and a wrong password indistinguishable from an
unknown user. (SIPp < 3.7 cannot answer the SHA-256-first challenge, see
test_sipp_register.py, so these checks do not depend on it.)"""

from __future__ import annotations

import pytest

from sipclient import SipClient, contact_uri, parse_challenge

TRANSPORTS = ["udp", "tcp"]
ALGORITHMS = ["SHA-256", "MD5"]


def test_challenge_offers_sha256_then_md5(herald):
    herald.add_user("alice", "pw")
    with SipClient("udp", herald.host, herald.sip_port) as client:
        resp = client.register("alice", herald.domain, None, ["sip:alice@127.0.0.1:5999"])
    assert resp.status == 401, resp.raw
    challenges = [parse_challenge(v) for v in resp.all("www-authenticate")]
    assert [c.get("algorithm") for c in challenges] == ["SHA-256", "MD5"], resp.raw
    assert all(c.get("realm") == herald.domain for c in challenges), resp.raw
    assert all("auth" in c.get("qop", "").split(",") for c in challenges), resp.raw


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_with_each_algorithm(herald, transport, algorithm):
    herald.add_user("alice", "s3cret")
    contact = f"sip:alice@127.0.0.1:5999;transport={transport}"
    with SipClient(transport, herald.host, herald.sip_port) as client:
        resp = client.register("alice", herald.domain, "s3cret", [contact], algorithm=algorithm)
    assert resp.status == 200, resp.raw
    assert [contact_uri(c) for c in resp.contacts()] == [contact], resp.raw


# Headers that echo the request and so differ between any two transactions.
ECHOED = {"via", "from", "to", "call-id", "cseq"}


def shape(resp) -> list[tuple[str, str | None]]:
    return [(n, None if n in ECHOED else v) for n, v in resp.headers]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_user_answer_equals_wrong_password_answer(herald, transport, algorithm):
    herald.add_user("alice", "right")
    answers = {}
    for label, user, password in [("wrong", "alice", "wrong"), ("unknown", "nobody", "right")]:
        with SipClient(transport, herald.host, herald.sip_port) as client:
            contact = f"sip:{user}@127.0.0.1:5999"
            challenge = client.register(user, herald.domain, None, [contact])
            final = client.register(user, herald.domain, password, [contact], algorithm=algorithm)
        answers[label] = (challenge, final)
    (wrong_401, wrong_final), (unknown_401, unknown_final) = answers["wrong"], answers["unknown"]
    assert wrong_final.status == 403, wrong_final.raw
    assert (unknown_final.status, unknown_final.reason) == (wrong_final.status, wrong_final.reason)
    assert shape(unknown_final) == shape(wrong_final), (unknown_final.raw, wrong_final.raw)
    assert unknown_final.body == wrong_final.body
    # The challenges must not differ either (same realm/algorithms/qop/opaque presence).
    assert [sorted(parse_challenge(v)) for v in unknown_401.all("www-authenticate")] == [
        sorted(parse_challenge(v)) for v in wrong_401.all("www-authenticate")
    ]
    assert [(n, v) for n, v in shape(unknown_401) if n != "www-authenticate"] == [
        (n, v) for n, v in shape(wrong_401) if n != "www-authenticate"
    ]
