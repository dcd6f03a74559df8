"""Raw SIP peers for the durability tests: senders that keep MESSAGEs coming from a
source address of their own (so the per-address flood guard sees one modest client each),
and a device that registers and answers every MESSAGE it is handed, recording the bodies.

Every sender answers the server's 407 with a fresh challenge per MESSAGE, as a pager
client without a cached nonce does; the device answers with 200 OK, after `delay` if one
is given (to keep a request in flight)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time

from sipclient import (
    CRLF,
    SipClient,
    SipTimeout,
    StreamReader,
    digest_response,
    parse_challenge,
    parse_response,
    request_bytes,
)


class Sender:
    """One UDP socket or TCP connection from `source_ip`, sending MESSAGEs as `user`."""

    def __init__(self, transport: str, server: tuple[str, int], source_ip: str, user: str,
                 domain: str, password: str, timeout: float = 5.0):
        self.transport = transport
        self.server = server
        self.user, self.domain, self.password = user, domain, password
        self.timeout = timeout
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((source_ip, 0))
        self.reader = None
        if transport == "tcp":
            self.sock.settimeout(timeout)
            self.sock.connect(server)
            self.reader = StreamReader(self.sock)
        self.local = self.sock.getsockname()
        self.tag = os.urandom(4).hex()

    def close(self) -> None:
        self.sock.close()

    def send_request(self, method: str, ruri: str, headers: list[str], body: bytes,
                     call_id: str, cseq: int) -> str:
        """Sends one request; returns its Via branch."""
        data, branch = request_bytes(method, ruri, self.transport, self.local, call_id, cseq,
                                     headers, body)
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)
        return branch

    def final_response(self, branch: str, timeout: float | None = None):
        """The final response whose top Via carries `branch` (others are skipped)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SipTimeout("no final response")
            if self.reader is not None:
                data = self.reader.read_message(left)
            else:
                self.sock.settimeout(left)
                try:
                    data, _ = self.sock.recvfrom(65536)
                except TimeoutError as e:
                    raise SipTimeout("no final response") from e
            try:
                resp = parse_response(data)
            except ValueError:
                continue
            if resp.status >= 200 and branch in (resp.first("via") or ""):
                return resp

    def message(self, to_user: str, body: bytes):
        """Sends one MESSAGE to `to_user`, answering the 407; the final response."""
        to = f"sip:{to_user}@{self.domain}"
        call_id = os.urandom(8).hex() + "@load"
        headers = [
            f"From: <sip:{self.user}@{self.domain}>;tag={self.tag}",
            f"To: <{to}>",
            "Content-Type: text/plain",
        ]
        first = self.final_response(self.send_request("MESSAGE", to, headers, body, call_id, 1))
        if first.status != 407:
            return first
        challenge = next(
            parse_challenge(v) for v in first.all("proxy-authenticate")
            if parse_challenge(v).get("algorithm", "MD5").upper() == "SHA-256"
        )
        auth = digest_response(challenge, self.user, self.password, "MESSAGE", to)
        branch = self.send_request("MESSAGE", to, headers + [f"Proxy-Authorization: {auth}"],
                                   body, call_id, 2)
        return self.final_response(branch)


def parse_request(data: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """(method, headers as (lower-case name, value) in order, body) of one request."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split(CRLF)
    method = lines[0].split(" ", 1)[0]
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return method, headers, body


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length"}


def ok_response(headers: list[tuple[str, str]]) -> bytes:
    """200 OK to a request with these headers."""
    lines = ["SIP/2.0 200 OK"]
    tag = os.urandom(4).hex()
    for name, value in headers:
        name = COMPACT.get(name, name)
        if name == "via":
            lines.append(f"Via: {value}")
        elif name == "from":
            lines.append(f"From: {value}")
        elif name == "to":
            lines.append(f"To: {value}" if re.search(r";\s*tag=", value) else f"To: {value};tag={tag}")
        elif name == "call-id":
            lines.append(f"Call-ID: {value}")
        elif name == "cseq":
            lines.append(f"CSeq: {value}")
    lines += ["Content-Length: 0", "", ""]
    return CRLF.join(lines).encode()


class Device:
    """A UDP device of `user` that registers and answers every MESSAGE with 200 OK (after
    `delay` seconds), recording the bodies in arrival order."""

    def __init__(self, host: str, port: int, user: str, domain: str, password: str,
                 delay: float = 0.0):
        self.client = SipClient("udp", host, port, timeout=5.0)
        self.user, self.domain, self.password = user, domain, password
        self.delay = delay
        self.bodies: list[bytes] = []
        self.branches: set[str] = set()
        self.lock = threading.Lock()
        self.last_arrival = time.monotonic()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def register(self) -> int:
        host, port = self.client.local[0], self.client.local[1]
        resp = self.client.register(self.user, self.domain, self.password,
                                    contacts=[f"sip:{self.user}@{host}:{port}"], expires=600)
        return resp.status

    def start(self) -> None:
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sock = self.client.sock
        sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                data, addr = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if data.startswith(b"SIP/2.0"):
                continue
            method, headers, body = parse_request(data)
            answer = ok_response(headers)
            if method == "MESSAGE":
                # A retransmission (the server resends over UDP until answered) is
                # answered again but is the same message.
                branch = next((v for n, v in headers if COMPACT.get(n, n) == "via"), "")
                with self.lock:
                    if branch not in self.branches:
                        self.branches.add(branch)
                        self.bodies.append(body)
                        self.last_arrival = time.monotonic()
            if self.delay and method == "MESSAGE":
                threading.Timer(self.delay, self._answer, (answer, addr)).start()
            else:
                self._answer(answer, addr)

    def _answer(self, answer: bytes, addr) -> None:
        try:
            self.client.sock.sendto(answer, addr)
        except OSError:
            pass  # stopped meanwhile

    def wait_quiet(self, quiet: float, timeout: float) -> None:
        """Returns once no MESSAGE came for `quiet` seconds (or after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                idle = time.monotonic() - self.last_arrival
            if idle >= quiet:
                return
            time.sleep(0.1)

    def received(self) -> list[bytes]:
        with self.lock:
            return list(self.bodies)

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(2)
        self.client.close()
