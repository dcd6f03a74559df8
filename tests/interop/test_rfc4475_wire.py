"""The RFC 4475 torture messages, sent byte for byte to a running Herald (domain
example.com) over UDP, TCP and TLS: the answer must be one EXPECTATIONS.tsv allows,
and the server must keep answering OPTIONS afterwards.

Where responses go on UDP: Herald answers UDP requests at the source IP and the port
of the topmost Via (5060 by default), or at the source port only if the Via carries
`rport` (RFC 3261 §18.2.2, RFC 3581). The files are not rewritten (they are reference
data), so on UDP the client socket is bound to the port its Via names (any port when
`rport` is present). If that port is busy on this machine (another SIP server on
5060, say) the file is skipped on UDP with the reason. TCP and TLS need no such trick
(the response returns on the connection), so those runs never skip. Over TLS the client
accepts any certificate: the server's is the self-signed one it makes on first start.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl
import time
from pathlib import Path

import pytest

from conftest import REPO
from sipclient import SipClient, SipTimeout, StreamReader, parse_response

CORPUS = Path(
    os.environ.get("RFC4475_DIR", str(REPO.parent / "shared" / "conformance" / "rfc4475"))
)
ANSWER_WAIT = 2.0  # a server that answers does so in milliseconds on loopback
DROP_WAIT = 1.0  # how long silence must last to count as "dropped"
DROP = None  # "no response" as a member of an allowed set

# Derived from EXPECTATIONS.tsv, reading each line as a registrar for example.com
# that answers OPTIONS itself and has no other request handling (other methods get
# 405 or 501). For "valid" messages the table asks only that they parse, i.e. any
# answer but 400: for a method the registrar does not handle that is 405/501, and
# 404 where the Request-URI names a domain Herald does not serve.
NOT_HANDLED = {405, 501}
FOREIGN = {404, 403}
OPTIONS_OK = {200}
# An INVITE or MESSAGE to one of our users is carried to their devices once the sender
# is authenticated, so the first answer is the proxy challenge (the table allows it),
# or 403 when the From names another domain (Herald does not federate).
PROXY_CHALLENGE = {407, 403}
STRAY_RESPONSE = {DROP}  # responses arriving at a server with no client transaction

ALLOWED: dict[str, set] = {
    # 3.1.1 valid messages: must parse, never 400
    # INVITE to chair-dnrc.example.com with a To tag: a dialog Herald is not part of.
    "wsinv.dat": NOT_HANDLED | FOREIGN | {481},
    "intmeth.dat": {501, 404, 405},
    "esc01.dat": NOT_HANDLED | FOREIGN,  # INVITE to example.net
    "escnull.dat": {401},  # REGISTER: challenged first
    "esc02.dat": NOT_HANDLED | FOREIGN,  # unknown method RE%47IST%45R
    "lwsdisp.dat": OPTIONS_OK,
    "longreq.dat": PROXY_CHALLENGE,  # INVITE to user@example.com
    "dblreq.dat": {401},  # the REGISTER only (Content-Length bounds it)
    "semiuri.dat": OPTIONS_OK,
    "transports.dat": OPTIONS_OK,
    "mpart01.dat": NOT_HANDLED | FOREIGN,  # MESSAGE to example.org
    "unreason.dat": STRAY_RESPONSE,
    "noreason.dat": STRAY_RESPONSE,
    # 3.1.2 invalid messages
    "badinv01.dat": {400, DROP},
    "clerr.dat": {400, DROP},  # TCP: waits for more bytes, see TCP_OVERRIDES
    "ncl.dat": {400, DROP},
    "scalar02.dat": {400},
    "scalarlg.dat": {DROP},
    "quotbal.dat": {400},
    "ltgtruri.dat": {400},
    "lwsruri.dat": {400},
    "lwsstart.dat": {400},
    "trws.dat": {400},
    "escruri.dat": {400} | PROXY_CHALLENGE,  # "400 (or handle)": handling starts with 407
    "baddate.dat": {400} | PROXY_CHALLENGE,  # "400 or ignore the Date": then the INVITE is challenged
    "regbadct.dat": {400, 401},  # "400, or infer the <>": then the REGISTER is challenged
    "badaspec.dat": {400},
    "baddn.dat": {400},
    "badvers.dat": {505},
    "mismatch01.dat": {400},
    "mismatch02.dat": {501, 400},
    "bigcode.dat": {DROP},
    # 3.2 / 3.3 / 3.4
    "badbranch.dat": OPTIONS_OK,
    "insuf.dat": {400},
    "unkscm.dat": {416},
    "novelsc.dat": {416},  # "416 or route": Herald routes nowhere
    "unksm2.dat": {400},
    "bext01.dat": {420},
    "invut.dat": {415} | PROXY_CHALLENGE,  # a proxy leaves the body to the UAS (§16.3)
    "regaut01.dat": {401},
    "multi01.dat": {400},
    "mcl01.dat": {400},
    "bcast.dat": {DROP},
    "zeromf.dat": {483, 200},  # a UAS may answer 200
    "cparam01.dat": {401},
    "cparam02.dat": {401},
    "regescrt.dat": {401},
    "sdp01.dat": {406} | PROXY_CHALLENGE,  # "a proxy forwards": after the challenge
    "inv2543.dat": {400} | PROXY_CHALLENGE,
}
# On a stream, a Content-Length beyond the bytes sent means "more is coming": wait.
STREAM_OVERRIDES: dict[str, set] = {"clerr.dat": {DROP, 400}}
STREAMS = ("tcp", "tls")

def corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.glob("*.dat"))


def test_expectations_cover_every_file():
    files = corpus_files()
    if not files:
        pytest.skip(f"RFC 4475 corpus not found at {CORPUS}")
    assert set(files) == set(ALLOWED), (
        f"missing: {set(files) - set(ALLOWED)}, stale: {set(ALLOWED) - set(files)}"
    )


def top_via_reply_port(data: bytes) -> int | None:
    """Where a UDP answer to this message goes: the Via port (default 5060), or None
    if the Via has rport (answer to the source port, so any local port will do)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    head = re.sub(r"\r\n[ \t]+", " ", head)  # unfold
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() not in ("via", "v"):
            continue
        first = value.split(",", 1)[0]
        if re.search(r";\s*rport\b", first, re.IGNORECASE):
            return None
        m = re.match(
            r"\s*SIP\s*/\s*[\d.]+\s*/\s*[A-Za-z]+\s+(\[[^\]]*\]|[^\s;:,]+)(?:\s*:\s*(\d+))?",
            first,
        )
        return int(m.group(2)) if m and m.group(2) else 5060
    return 5060


def call_id_of(data: bytes) -> str | None:
    """The Call-ID of a raw message, if it has one we can read."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    m = re.search(r"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", head, re.IGNORECASE | re.MULTILINE)
    return m.group(1) if m else None


def final_response(next_message, call_id: str | None, wait: float):
    """The first final response to our message, skipping provisional ones (INVITE
    gets 100 Trying first) and stale answers to earlier messages; None if none came."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        raw = next_message(left)
        if raw is None:
            return None
        resp = parse_response(raw)
        if call_id is not None and resp.first("call-id") != call_id:
            continue
        if resp.status >= 200:
            return resp
    return None


def send_udp(server: tuple[str, int], data: bytes, local_port: int, wait: float):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", local_port))
        sock.sendto(data, server)

        def next_datagram(left: float) -> bytes | None:
            sock.settimeout(left)
            try:
                return sock.recvfrom(65536)[0]
            except TimeoutError:
                return None

        return final_response(next_datagram, call_id_of(data), wait)


def any_certificate() -> ssl.SSLContext:
    """A TLS client context that accepts the server's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def send_stream(server: tuple[str, int], data: bytes, wait: float, tls: bool):
    sock = socket.create_connection(server, timeout=wait)
    if tls:
        sock = any_certificate().wrap_socket(sock)
    with sock:
        sock.sendall(data)
        reader = StreamReader(sock)

        def next_message(left: float) -> bytes | None:
            try:
                return reader.read_message(left)
            except (SipTimeout, ssl.SSLError, ConnectionError):
                return None

        return final_response(next_message, call_id_of(data), wait)


def still_answers_options(herald) -> int:
    with SipClient("udp", herald.host, herald.sip_port) as client:
        resp = client.request(
            "OPTIONS",
            f"sip:{herald.domain}",
            [f"From: <sip:probe@{herald.domain}>;tag=p1", f"To: <sip:{herald.domain}>"],
        )
        return resp.status


def still_answers_options_over_tls(herald) -> int | None:
    """A fresh TLS connection still gets its OPTIONS answered (the TLS listener is alive)."""
    call_id = f"tls-probe-{time.monotonic_ns()}"
    options = (
        f"OPTIONS sip:{herald.domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK{call_id};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@{herald.domain}>;tag=p1\r\n"
        f"To: <sip:{herald.domain}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    resp = send_stream((herald.host, herald.tls_port), options, ANSWER_WAIT, tls=True)
    return None if resp is None else resp.status


def check_torture_message(herald, name: str, transport: str) -> None:
    data = (CORPUS / name).read_bytes()
    allowed = (STREAM_OVERRIDES if transport in STREAMS else {}).get(name, ALLOWED[name])
    wait = ANSWER_WAIT if DROP not in allowed else DROP_WAIT
    server = (herald.host, herald.sip_port)

    if transport == "udp":
        port = top_via_reply_port(data)
        try:
            resp = send_udp(server, data, port or 0, wait)
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                pytest.skip(f"UDP answer goes to Via port {port}, busy here: {e}")
            raise
    elif transport == "tcp":
        resp = send_stream(server, data, wait, tls=False)
    else:
        resp = send_stream((herald.host, herald.tls_port), data, wait, tls=True)

    status = None if resp is None else resp.status
    assert status in allowed, (
        f"{name} over {transport}: got {status} "
        f"{'' if resp is None else resp.reason!r}, allowed {sorted(allowed, key=str)}\n"
        f"{'' if resp is None else resp.raw.decode('utf-8', 'replace')}"
    )
    # The table also names what must come with some answers.
    if resp is not None and name == "bext01.dat":
        unsupported = resp.first("unsupported") or ""
        for option in ("nothingSupportsThis", "nothingSupportsThisEither"):  # its Require
            assert option in unsupported, resp.raw
    if resp is not None and name == "invut.dat" and status == 415:
        assert resp.first("accept"), resp.raw

    assert herald.alive(), "server died"
    assert still_answers_options(herald) == 200
    if transport == "tls":
        assert still_answers_options_over_tls(herald) == 200


def torture_cases():
    for name in corpus_files():
        for transport in ("udp", "tcp", "tls"):
            yield pytest.param(name, transport, id=f"{name}-{transport}")


# A fresh server per message and transport: several RFC 4475 messages share a
# branch, sent-by and method (cparam01/cparam02 both use z9hG4bKkdjuw from
# saturn.example.com:5060), and one server would rightly match the second to the
# first's still-live transaction (RFC 3261 §17.2.3) and resend the old answer.
@pytest.mark.parametrize(("name", "transport"), list(torture_cases()))
def test_torture_message(herald, name, transport):
    check_torture_message(herald, name, transport)
