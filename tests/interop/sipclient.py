"""A minimal SIP client over UDP or TCP, just enough to REGISTER with digest
authentication (MD5 or SHA-256) and read the Contact list of the answer.

It exists so the tests can ask the registrar "which bindings does this AOR have?"
independently of the devices under test, and send raw bytes (the RFC 4475 messages).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass, field

CRLF = "\r\n"


class SipTimeout(Exception):
    """No (complete) SIP message arrived within the allowed time."""


@dataclass
class Response:
    """A parsed SIP response: status line, headers in order (name lower-cased), body."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""

    def all(self, name: str) -> list[str]:
        """Every value of header `name` (long or compact form), in order."""
        names = {name.lower()}
        compact = COMPACT_FORMS.get(name.lower())
        if compact:
            names.add(compact)
        return [v for n, v in self.headers if n in names]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def contacts(self) -> list[str]:
        """Every Contact value, one per binding (comma-separated lists split)."""
        out: list[str] = []
        for value in self.all("contact"):
            out.extend(split_header_list(value))
        return out


COMPACT_FORMS = {
    "contact": "m",
    "via": "v",
    "from": "f",
    "to": "t",
    "call-id": "i",
    "content-length": "l",
    "content-type": "c",
}
LONG_FORMS = {v: k for k, v in COMPACT_FORMS.items()}


def split_header_list(value: str) -> list[str]:
    """Split a comma-separated header value, ignoring commas in quotes or <...>."""
    parts, current, in_quotes, in_angle, escaped = [], [], False, False, False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\" and in_quotes:
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
        elif ch == "<" and not in_quotes:
            in_angle = True
        elif ch == ">" and not in_quotes:
            in_angle = False
        elif ch == "," and not in_quotes and not in_angle:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def contact_uri(contact: str) -> str:
    """The URI of one Contact value (inside <> if present)."""
    m = re.search(r"<([^>]*)>", contact)
    if m:
        return m.group(1)
    return contact.split(";", 1)[0].strip()


def contact_expires(contact: str) -> int | None:
    """The `expires` parameter of one Contact value, if any."""
    after = contact.rsplit(">", 1)[-1]
    m = re.search(r";\s*expires\s*=\s*(\d+)", after, re.IGNORECASE)
    return int(m.group(1)) if m else None


def parse_response(data: bytes) -> Response:
    """Parse one complete SIP response. Raises ValueError if it is not one."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    lines = head.decode("utf-8", "replace").split(CRLF)
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
    if not m:
        raise ValueError(f"not a SIP response: {lines[0]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"bad header line {line!r}")
        name = name.strip().lower()
        headers.append((LONG_FORMS.get(name, name), value.strip()))
    return Response(int(m.group(1)), m.group(2), headers, body, data)


def _content_length(head: bytes) -> int:
    m = re.search(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.IGNORECASE)
    return int(m.group(1)) if m else 0


class StreamReader:
    """Frames SIP messages out of a TCP/TLS byte stream (Content-Length bounded)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def read_message(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            # Skip keep-alive CRLFs between messages (RFC 5626 §3.5.1).
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                total = end + 4 + _content_length(self.buf[: end + 2])
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise SipTimeout(f"no complete message within {timeout}s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError as e:
                raise SipTimeout(f"no complete message within {timeout}s") from e
            if not chunk:
                raise SipTimeout("connection closed before a complete message")
            self.buf += chunk


def digest_response(
    challenge: dict[str, str], username: str, password: str, method: str, uri: str
) -> str:
    """The Authorization header value answering one digest challenge (RFC 7616)."""
    algorithm = challenge.get("algorithm", "MD5")
    hash_name = {"MD5": "md5", "SHA-256": "sha256"}.get(algorithm.upper())
    if hash_name is None:
        raise ValueError(f"unsupported digest algorithm {algorithm}")

    def h(text: str) -> str:
        return hashlib.new(hash_name, text.encode()).hexdigest()

    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    params = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f"algorithm={algorithm}",
    ]
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce, nc = os.urandom(8).hex(), "00000001"
        params += ["qop=auth", f'cnonce="{cnonce}"', f"nc={nc}"]
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    params.append(f'response="{response}"')
    if "opaque" in challenge:
        params.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(params)


def parse_challenge(value: str) -> dict[str, str]:
    """The parameters of one `WWW-Authenticate: Digest ...` value."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a digest challenge: {value!r}")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', rest):
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return params


def request_bytes(
    method: str,
    ruri: str,
    transport: str,
    local: tuple,
    call_id: str,
    cseq: int,
    headers: list[str],
    body: bytes = b"",
) -> tuple[bytes, str]:
    """A request from `local` with a fresh Via branch; returns (bytes, branch)."""
    branch = "z9hG4bK" + os.urandom(8).hex()
    host, port = local[0], local[1]
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {host}:{port};branch={branch};rport",
        "Max-Forwards: 70",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        *headers,
        f"Content-Length: {len(body)}",
        "",
        "",
    ]
    return CRLF.join(lines).encode() + body, branch


class SipClient:
    """One UDP socket or TCP connection to the server; sends REGISTERs and reads answers."""

    def __init__(self, transport: str, host: str, port: int, timeout: float = 3.0):
        self.transport = transport.lower()
        self.server = (host, port)
        self.timeout = timeout
        if self.transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.reader = None
        elif self.transport == "tcp":
            self.sock = socket.create_connection(self.server, timeout=timeout)
            self.reader = StreamReader(self.sock)
        else:
            raise ValueError(f"unsupported transport {transport}")
        self.local = self.sock.getsockname()
        self.call_id = os.urandom(8).hex() + "@127.0.0.1"
        self.from_tag = os.urandom(4).hex()
        self.cseq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SipClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def receive(self, timeout: float | None = None) -> Response:
        """The next response; raises SipTimeout when none comes in time."""
        timeout = self.timeout if timeout is None else timeout
        if self.reader is not None:
            return parse_response(self.reader.read_message(timeout))
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65536)
        except TimeoutError as e:
            raise SipTimeout(f"no datagram within {timeout}s") from e
        return parse_response(data)

    def request(self, method: str, ruri: str, headers: list[str], body: bytes = b"") -> Response:
        """Send one request with fresh Via/CSeq and return its final response."""
        self.cseq += 1
        data, branch = request_bytes(
            method, ruri, self.transport, self.local, self.call_id, self.cseq, headers, body
        )
        self.send(data)
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SipTimeout(f"no final response to {method}")
            resp = self.receive(left)
            if resp.status >= 200 and branch in (resp.first("via") or ""):
                return resp

    def register(
        self,
        user: str,
        domain: str,
        password: str | None,
        contacts: list[str] | None = None,
        expires: int | None = None,
        algorithm: str = "SHA-256",
        auth_user: str | None = None,
    ) -> Response:
        """REGISTER `user@domain`; answer a 401 with the `algorithm` challenge.

        contacts=None sends no Contact (a query); ["*"] with expires=0 removes all.
        Returns the final response (the 401 itself if password is None).
        """
        aor = f"sip:{user}@{domain}"
        headers = [
            f"From: <{aor}>;tag={self.from_tag}",
            f"To: <{aor}>",
        ]
        for c in contacts or []:
            headers.append(f"Contact: {c}" if c == "*" or c.startswith("<") else f"Contact: <{c}>")
        if expires is not None:
            headers.append(f"Expires: {expires}")
        ruri = f"sip:{domain}"
        resp = self.request("REGISTER", ruri, headers)
        if resp.status != 401 or password is None:
            return resp
        chosen = None
        for value in resp.all("www-authenticate"):
            ch = parse_challenge(value)
            if ch.get("algorithm", "MD5").upper() == algorithm.upper():
                chosen = ch
                break
        if chosen is None:
            raise ValueError(f"no {algorithm} challenge in {resp.all('www-authenticate')}")
        auth = digest_response(chosen, auth_user or user, password, "REGISTER", ruri)
        return self.request("REGISTER", ruri, headers + [f"Authorization: {auth}"])


def query_bindings(
    transport: str, host: str, port: int, user: str, domain: str, password: str
) -> Response:
    """An authenticated REGISTER without Contact: the 200 lists the current bindings."""
    with SipClient(transport, host, port) as client:
        return client.register(user, domain, password)
