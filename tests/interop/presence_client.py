"""A raw SIP presence user agent for the tests pjsua2 cannot do: watcher info
(RFC 3857), contact-list subscriptions with multipart NOTIFYs (RFC 4662), and
requests a real client would rarely send on purpose (PUBLISH for someone else, a
broken PIDF).

One UDP socket or TCP connection to the server, read by a background thread that
answers every NOTIFY 200 at once (so the server's transactions never time out while
a test is busy elsewhere) and queues it; responses are queued apart. Over UDP the
client can also listen on TCP at the same port, where the server sends NOTIFYs too
large for a datagram (RFC 3261 §18.1.1).
"""

from __future__ import annotations

import os
import queue
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sipclient import (
    LONG_FORMS,
    SipTimeout,
    StreamReader,
    contact_uri,
    digest_response,
    parse_challenge,
    request_bytes,
)

CRLF = "\r\n"
PIDF_NS = "urn:ietf:params:xml:ns:pidf"
DM_NS = "urn:ietf:params:xml:ns:pidf:data-model"
RPID_NS = "urn:ietf:params:xml:ns:pidf:rpid"
HA_NS = "urn:herald:params:xml:ns:pidf:availability"
RLMI_NS = "urn:ietf:params:xml:ns:rlmi"
WINFO_NS = "urn:ietf:params:xml:ns:watcherinfo"


@dataclass
class Message:
    """A parsed SIP request or response; header names lower-cased, long forms."""

    first_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""
    # Where it came from: "udp", "tcp" (our connection) or "tcp-in" (accepted by us).
    via: str = ""
    # When it was read (time.monotonic()).
    at: float = 0.0

    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        return self.first_line.split(" ", 1)[0] if self.is_request else ""

    @property
    def status(self) -> int:
        return 0 if self.is_request else int(self.first_line.split(" ", 2)[1])

    @property
    def reason(self) -> str:
        parts = self.first_line.split(" ", 2)
        return parts[2] if not self.is_request and len(parts) > 2 else ""

    def all(self, name: str) -> list[str]:
        name = LONG_FORMS.get(name.lower(), name.lower())
        return [v for n, v in self.headers if n == name]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")


def parse_message(data: bytes, via: str = "") -> Message:
    """Parse one complete SIP message. Raises ValueError if it is not one."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    lines = head.decode("utf-8", "replace").split(CRLF)
    if not re.match(r"^(SIP/2\.0 \d{3}|[A-Z]+ \S+ SIP/2\.0$)", lines[0]):
        raise ValueError(f"not a SIP start line: {lines[0]!r}")
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
    return Message(lines[0], headers, body, data, via)


def tag_of(name_addr: str) -> str | None:
    """The tag parameter of a From/To value."""
    after = name_addr.rsplit(">", 1)[-1]
    m = re.search(r";\s*tag\s*=\s*([^;\s]+)", after, re.IGNORECASE)
    return m.group(1) if m else None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def header_param(value: str, name: str) -> str | None:
    """A parameter of a header value such as Content-Type (quotes removed)."""
    m = re.search(rf';\s*{re.escape(name)}\s*=\s*("([^"]*)"|[^;\s]+)', value, re.IGNORECASE)
    if not m:
        return None
    return m.group(2) if m.group(2) is not None else m.group(1)


@dataclass
class Part:
    """One body part of a multipart body."""

    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return media_type(self.headers.get("content-type"))

    @property
    def content_id(self) -> str:
        return self.headers.get("content-id", "").strip().strip("<>")


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart body (RFC 2046 §5.1.1), in order."""
    boundary = header_param(content_type, "boundary")
    if not boundary:
        raise ValueError(f"no boundary in {content_type!r}")
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    parts: list[Part] = []
    # chunks[0] is the preamble; a chunk starting with "--" is the end.
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        head, sep, part_body = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, part_body = b"", chunk.removeprefix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split(CRLF):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, part_body))
    return parts


@dataclass
class PidfView:
    """What a watcher reads from a PIDF document."""

    entity: str
    basic: list[str]
    activities: list[str]
    availability: int | None
    notes: list[str]
    raw: bytes

    @property
    def open(self) -> bool:
        return "open" in self.basic


def read_pidf(body: bytes) -> PidfView:
    root = ET.fromstring(body)
    if root.tag != f"{{{PIDF_NS}}}presence":
        raise ValueError(f"not a PIDF document: {root.tag}")
    basic = [e.text or "" for e in root.iter(f"{{{PIDF_NS}}}basic")]
    activities = []
    for acts in root.iter(f"{{{RPID_NS}}}activities"):
        activities += [child.tag.split("}", 1)[-1] for child in acts]
    numbers = [int((e.text or "").strip()) for e in root.iter(f"{{{HA_NS}}}availability")]
    notes = [e.text or "" for e in root.iter() if e.tag in (f"{{{DM_NS}}}note", f"{{{PIDF_NS}}}note")]
    return PidfView(
        entity=root.get("entity", ""),
        basic=basic,
        activities=activities,
        availability=numbers[0] if numbers else None,
        notes=notes,
        raw=body,
    )


@dataclass
class ListResource:
    """One resource of an RLMI document and its PIDF part, if any."""

    uri: str
    name: str | None
    state: str
    reason: str | None
    pidf: PidfView | None


@dataclass
class ListNotify:
    """A resource-list NOTIFY read (RFC 4662): the RLMI root and its resources."""

    uri: str
    version: int
    full_state: bool
    resources: list[ListResource]
    parts: list[Part]

    def by_uri(self) -> dict[str, ListResource]:
        return {r.uri: r for r in self.resources}


def read_list_notify(notify: Message) -> ListNotify:
    content_type = notify.first("content-type") or ""
    if media_type(content_type) != "multipart/related":
        raise ValueError(f"not multipart/related: {content_type!r}")
    parts = parse_multipart(content_type, notify.body)
    start = header_param(content_type, "start")
    start = start.strip("<>") if start else None
    root_part = next((p for p in parts if p.content_id == start), parts[0] if parts else None)
    if root_part is None or root_part.content_type != "application/rlmi+xml":
        raise ValueError("no RLMI root part")
    by_cid = {p.content_id: p for p in parts}
    root = ET.fromstring(root_part.body)
    resources = []
    for res in root.findall(f"{{{RLMI_NS}}}resource"):
        name_el = res.find(f"{{{RLMI_NS}}}name")
        inst = res.find(f"{{{RLMI_NS}}}instance")
        state = inst.get("state", "") if inst is not None else ""
        cid = inst.get("cid") if inst is not None else None
        part = by_cid.get(cid) if cid else None
        resources.append(
            ListResource(
                uri=res.get("uri", ""),
                name=name_el.text if name_el is not None else None,
                state=state,
                reason=inst.get("reason") if inst is not None else None,
                pidf=read_pidf(part.body) if part is not None else None,
            )
        )
    return ListNotify(
        uri=root.get("uri", ""),
        version=int(root.get("version", "-1")),
        full_state=root.get("fullState", "").lower() == "true",
        resources=resources,
        parts=parts,
    )


@dataclass
class WatcherEntry:
    uri: str
    status: str
    event: str
    id: str


@dataclass
class WatcherInfo:
    state: str
    version: int
    resource: str
    watchers: list[WatcherEntry]

    def status_of(self, uri: str) -> list[str]:
        return [w.status for w in self.watchers if w.uri == uri]


def read_watcherinfo(body: bytes) -> WatcherInfo:
    root = ET.fromstring(body)
    if root.tag != f"{{{WINFO_NS}}}watcherinfo":
        raise ValueError(f"not a watcherinfo document: {root.tag}")
    resource, watchers = "", []
    for wl in root.findall(f"{{{WINFO_NS}}}watcher-list"):
        resource = wl.get("resource", "")
        for w in wl.findall(f"{{{WINFO_NS}}}watcher"):
            watchers.append(
                WatcherEntry(
                    uri=(w.text or "").strip(),
                    status=w.get("status", ""),
                    event=w.get("event", ""),
                    id=w.get("id", ""),
                )
            )
    return WatcherInfo(root.get("state", ""), int(root.get("version", "-1")), resource, watchers)


CONFERENCE_INFO_NS = "urn:ietf:params:xml:ns:conference-info"


@dataclass
class ConferenceEndpoint:
    """One <endpoint> of a conference-info <user> (RFC 4575 §5.7)."""

    entity: str
    state: str
    status: str | None
    joining_method: str | None
    disconnection_method: str | None


@dataclass
class ConferenceUser:
    """One <user> of a conference-info document (RFC 4575 §5.6)."""

    entity: str
    state: str
    display_text: str | None
    roles: list[str]
    endpoints: list[ConferenceEndpoint]


@dataclass
class ConferenceInfo:
    """What a roster subscriber reads from an application/conference-info+xml body."""

    entity: str
    state: str
    version: int
    user_count: int | None
    active: bool | None
    users: list[ConferenceUser]
    raw: bytes

    def by_entity(self) -> dict[str, ConferenceUser]:
        return {u.entity: u for u in self.users}


def read_conference_info(body: bytes) -> ConferenceInfo:
    """Parse a conference-info document (RFC 4575); `state` defaults to "full"."""
    ns = f"{{{CONFERENCE_INFO_NS}}}"
    root = ET.fromstring(body)
    if root.tag != f"{ns}conference-info":
        raise ValueError(f"not a conference-info document: {root.tag}")

    def text(parent, path: str) -> str | None:
        el = parent.find(path)
        return (el.text or "").strip() if el is not None else None

    user_count = text(root, f"{ns}conference-state/{ns}user-count")
    active = text(root, f"{ns}conference-state/{ns}active")
    users = []
    for user in root.findall(f"{ns}users/{ns}user"):
        endpoints = [
            ConferenceEndpoint(
                entity=ep.get("entity", ""),
                state=ep.get("state", "full"),
                status=text(ep, f"{ns}status"),
                joining_method=text(ep, f"{ns}joining-method"),
                disconnection_method=text(ep, f"{ns}disconnection-method"),
            )
            for ep in user.findall(f"{ns}endpoint")
        ]
        users.append(
            ConferenceUser(
                entity=user.get("entity", ""),
                state=user.get("state", "full"),
                display_text=text(user, f"{ns}display-text"),
                roles=[(r.text or "").strip() for r in user.findall(f"{ns}roles/{ns}entry")],
                endpoints=endpoints,
            )
        )
    return ConferenceInfo(
        entity=root.get("entity", ""),
        state=root.get("state", "full"),
        version=int(root.get("version", "-1")),
        user_count=int(user_count) if user_count else None,
        active=active.lower() == "true" if active else None,
        users=users,
        raw=body,
    )


@dataclass
class Subscription:
    """A subscription dialog, as the subscriber sees it."""

    event: str
    target: str
    call_id: str
    from_tag: str
    to_tag: str
    remote_target: str
    cseq: int
    response: Message


class PresenceClient:
    """One SIP user (user@domain, password) on one UDP socket or TCP connection."""

    def __init__(
        self,
        transport: str,
        host: str,
        port: int,
        user: str,
        domain: str,
        password: str,
        timeout: float = 5.0,
        listen_tcp: bool = False,
    ):
        self.transport = transport.lower()
        self.server = (host, port)
        self.user, self.domain, self.password = user, domain, password
        self.aor = f"sip:{user}@{domain}"
        self.timeout = timeout
        self.responses: queue.Queue[Message] = queue.Queue()
        # NOTIFYs (and any other request) received, not yet taken by a test.
        self.inbox: list[Message] = []
        self.inbox_changed = threading.Condition()
        self.closed = threading.Event()
        self.send_lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.listener: socket.socket | None = None
        self.accepted: list[socket.socket] = []
        if self.transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self._spawn(self._read_udp)
        elif self.transport == "tcp":
            self.sock = socket.create_connection(self.server, timeout=timeout)
            self._spawn(self._read_stream, self.sock, "tcp")
        else:
            raise ValueError(f"unsupported transport {transport}")
        self.local = self.sock.getsockname()
        if listen_tcp:
            # The same port on TCP: our Contact's address for both transports.
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind(self.local)
            self.listener.listen(8)
            self._spawn(self._accept)
        self.cseq = 0

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    # --- the background readers ---

    def _dispatch(self, msg: Message, reply) -> None:
        msg.at = time.monotonic()
        if msg.is_request:
            reply(self._answer(msg))
            with self.inbox_changed:
                self.inbox.append(msg)
                self.inbox_changed.notify_all()
        else:
            self.responses.put(msg)

    def _read_udp(self) -> None:
        self.sock.settimeout(0.2)
        while not self.closed.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data.strip():
                continue
            try:
                msg = parse_message(data, "udp")
            except ValueError:
                continue
            self._dispatch(msg, lambda out, addr=addr: self._send_udp(out, addr))

    def _read_stream(self, sock: socket.socket, via: str) -> None:
        reader = StreamReader(sock)
        while not self.closed.is_set():
            try:
                data = reader.read_message(0.5)
            except SipTimeout as e:
                if "closed" in str(e):
                    return
                continue
            except OSError:
                return
            try:
                msg = parse_message(data, via)
            except ValueError:
                continue
            self._dispatch(msg, lambda out, sock=sock: self._send_stream(sock, out))

    def _accept(self) -> None:
        assert self.listener is not None
        self.listener.settimeout(0.2)
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)
            self._spawn(self._read_stream, conn, "tcp-in")

    def _send_udp(self, data: bytes, addr=None) -> None:
        with self.send_lock:
            self.sock.sendto(data, addr or self.server)

    def _send_stream(self, sock: socket.socket, data: bytes) -> None:
        with self.send_lock:
            sock.sendall(data)

    def send(self, data: bytes) -> None:
        if self.transport == "udp":
            self._send_udp(data)
        else:
            self._send_stream(self.sock, data)

    def _answer(self, req: Message) -> bytes:
        """200 OK to any request that reaches us (NOTIFYs, mostly)."""
        lines = ["SIP/2.0 200 OK"]
        for name in ("via", "from", "to", "call-id", "cseq"):
            for value in req.all(name):
                if name == "to" and tag_of(value) is None:
                    value += f";tag={os.urandom(4).hex()}"
                lines.append(f"{name.title()}: {value}")
        lines += ["Content-Length: 0", "", ""]
        return CRLF.join(lines).encode()

    def close(self) -> None:
        self.closed.set()
        for s in [self.sock, self.listener, *self.accepted]:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def __enter__(self) -> PresenceClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests ---

    def contact(self) -> str:
        host, port = self.local[0], self.local[1]
        return f"<sip:{self.user}@{host}:{port};transport={self.transport}>"

    def request(
        self,
        method: str,
        ruri: str,
        headers: list[str],
        body: bytes = b"",
        call_id: str | None = None,
        cseq: int | None = None,
    ) -> Message:
        """Send one request with a fresh Via and return its final response."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        data, branch = request_bytes(
            method,
            ruri,
            self.transport,
            self.local,
            call_id or os.urandom(8).hex() + "@127.0.0.1",
            cseq,
            headers,
            body,
        )
        self.send(data)
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SipTimeout(f"no final response to {method} {ruri}")
            try:
                resp = self.responses.get(timeout=left)
            except queue.Empty:
                continue
            if resp.status >= 200 and branch in (resp.first("via") or ""):
                return resp

    def authed(
        self,
        method: str,
        ruri: str,
        headers: list[str],
        body: bytes = b"",
        call_id: str | None = None,
        auth_user: str | None = None,
        password: str | None = None,
    ) -> tuple[Message, Message | None]:
        """Send; answer a 401/407 with a SHA-256 digest of `auth_user`/`password`
        (default: ours). Returns (first final response, response after auth or None)."""
        call_id = call_id or os.urandom(8).hex() + "@127.0.0.1"
        first = self.request(method, ruri, headers, body, call_id)
        if first.status not in (401, 407):
            return first, None
        header = "www-authenticate" if first.status == 401 else "proxy-authenticate"
        challenge = None
        for value in first.all(header):
            ch = parse_challenge(value)
            if ch.get("algorithm", "MD5").upper() == "SHA-256":
                challenge = ch
                break
        if challenge is None:
            raise AssertionError(f"no SHA-256 challenge in:\n{first.text()}")
        auth = digest_response(
            challenge, auth_user or self.user, password or self.password, method, ruri
        )
        name = "Authorization" if first.status == 401 else "Proxy-Authorization"
        return first, self.request(method, ruri, headers + [f"{name}: {auth}"], body, call_id)

    def final(self, method: str, ruri: str, headers: list[str], body: bytes = b"") -> Message:
        """The final response after authenticating if challenged."""
        first, second = self.authed(method, ruri, headers, body)
        return second or first

    def register(self, expires: int = 300) -> Message:
        ruri = f"sip:{self.domain}"
        tag = os.urandom(4).hex()
        headers = [
            f"From: <{self.aor}>;tag={tag}",
            f"To: <{self.aor}>",
            f"Contact: {self.contact()}",
            f"Expires: {expires}",
        ]
        return self.final("REGISTER", ruri, headers)

    def publish(
        self,
        body: bytes,
        target: str | None = None,
        etag: str | None = None,
        expires: int | None = None,
        content_type: str = "application/pidf+xml",
    ) -> Message:
        """PUBLISH (RFC 3903) to `target` (default: our own AOR)."""
        target = target or self.aor
        headers = [
            f"From: <{self.aor}>;tag={os.urandom(4).hex()}",
            f"To: <{target}>",
            "Event: presence",
        ]
        if body:
            headers.append(f"Content-Type: {content_type}")
        if etag:
            headers.append(f"SIP-If-Match: {etag}")
        if expires is not None:
            headers.append(f"Expires: {expires}")
        return self.final("PUBLISH", target, headers, body)

    def subscribe(
        self,
        target: str,
        event: str = "presence",
        accept: str = "application/pidf+xml",
        extra: list[str] | None = None,
        expires: int = 600,
    ) -> Subscription | Message:
        """A new subscription; its dialog when the answer is 2xx, else the answer."""
        from_tag = os.urandom(4).hex()
        call_id = os.urandom(8).hex() + "@127.0.0.1"
        headers = [
            f"From: <{self.aor}>;tag={from_tag}",
            f"To: <{target}>",
            f"Contact: {self.contact()}",
            f"Event: {event}",
            f"Accept: {accept}",
            f"Expires: {expires}",
            *(extra or []),
        ]
        first, second = self.authed("SUBSCRIBE", target, headers, call_id=call_id)
        resp = second or first
        if resp.status >= 300:
            return resp
        to = resp.first("to") or ""
        contact = resp.first("contact")
        return Subscription(
            event=event,
            target=target,
            call_id=call_id,
            from_tag=from_tag,
            to_tag=tag_of(to) or "",
            remote_target=contact_uri(contact) if contact else target,
            cseq=self.cseq,
            response=resp,
        )

    def resubscribe(self, sub: Subscription, expires: int, accept: str | None = None) -> Message:
        """A SUBSCRIBE within the dialog: a refresh, or with expires=0 the end."""
        self.cseq += 1
        sub.cseq = self.cseq
        headers = [
            f"From: <{self.aor}>;tag={sub.from_tag}",
            f"To: <{sub.target}>;tag={sub.to_tag}",
            f"Contact: {self.contact()}",
            f"Event: {sub.event}",
            f"Expires: {expires}",
        ]
        if accept:
            headers.append(f"Accept: {accept}")
        return self.request("SUBSCRIBE", sub.remote_target, headers, b"", sub.call_id, sub.cseq)

    def _take_notify(self, sub: Subscription | None) -> Message | None:
        """Remove and return the oldest NOTIFY (of `sub`'s dialog when given)."""
        for i, msg in enumerate(self.inbox):
            if msg.method == "NOTIFY" and (sub is None or msg.first("call-id") == sub.call_id):
                return self.inbox.pop(i)
        return None

    def wait_notify(
        self, sub: Subscription | None = None, timeout: float | None = None, where=None
    ) -> Message:
        """The next NOTIFY (of `sub`'s dialog when given) for which `where(notify)`
        holds; those of the dialog that do not are dropped on the way, those of other
        dialogs are left for later. Raises SipTimeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self.inbox_changed:
            while True:
                msg = self._take_notify(sub)
                if msg is not None:
                    if where is None or where(msg):
                        return msg
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SipTimeout(f"{self.user}: no matching NOTIFY within the time")
                self.inbox_changed.wait(left)

    def no_notify(self, sub: Subscription | None = None, within: float = 1.5) -> list[Message]:
        """Wait `within` s; the NOTIFYs (of `sub` when given) that came meanwhile or
        were still untaken, taken now (a test expecting none asserts it is empty)."""
        time.sleep(within)
        got = []
        with self.inbox_changed:
            while (msg := self._take_notify(sub)) is not None:
                got.append(msg)
        return got

def pidf_document(
    entity: str,
    basic: str = "open",
    activity: str | None = None,
    note: str | None = None,
    availability: int | None = None,
) -> bytes:
    """A small PIDF + RPID document, as a client would PUBLISH it."""
    person = ""
    if activity or note or availability is not None:
        inner = ""
        if activity:
            inner += f"<rpid:activities><rpid:{activity}/></rpid:activities>"
        if availability is not None:
            inner += f"<ha:availability>{availability}</ha:availability>"
        if note:
            inner += f"<dm:note>{note}</dm:note>"
        person = f'<dm:person id="p1">{inner}</dm:person>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<presence xmlns="{PIDF_NS}" xmlns:dm="{DM_NS}" xmlns:rpid="{RPID_NS}" '
        f'xmlns:ha="{HA_NS}" entity="{entity}">'
        f'<tuple id="t1"><status><basic>{basic}</basic></status></tuple>'
        f"{person}</presence>"
    ).encode()

