"""Tools for the flood tests (test_flood.py): SIPp OPTIONS floods from a chosen loopback
address, a UDP client bound to one, a sender cycling through thousands of source
addresses, TCP connection churn, and an RSS sampler.

Linux routes all of 127.0.0.0/8 to the loopback interface, so binding a socket to
127.0.0.2, 127.0.0.3 or 127.1.x.y makes each a distinct source for the server."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import DOMAIN, INTEROP_DIR, free_port
from sipclient import StreamReader, SipTimeout, parse_response, request_bytes

FLOOD_SCENARIO = INTEROP_DIR / "sipp" / "flood_options.xml"


def options_request(local: tuple, transport: str = "udp") -> tuple[bytes, str]:
    """An OPTIONS to the server's domain from `local`; returns (bytes, branch)."""
    call_id = os.urandom(8).hex() + "@flood.test"
    headers = [
        f"From: <sip:probe@{DOMAIN}>;tag={os.urandom(4).hex()}",
        f"To: <sip:{DOMAIN}>",
    ]
    return request_bytes("OPTIONS", f"sip:{DOMAIN}", transport, local, call_id, 1, headers)


class UdpProbe:
    """A UDP socket bound to one source address that sends OPTIONS and waits for the 200."""

    def __init__(self, source_ip: str, server: tuple):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source_ip, 0))
        self.local = self.sock.getsockname()

    def ask(self, timeout: float, retransmit: bool = False) -> bool:
        """Whether one OPTIONS got its 200 within `timeout` s."""
        return self.status(timeout, retransmit) == 200

    def status(self, timeout: float, retransmit: bool = False) -> int | None:
        """The final status answering one OPTIONS within `timeout` s, or None (stale
        answers skipped). With `retransmit`, the request is sent again after 0.5 s,
        1 s, 2 s... as a SIP client does over UDP (RFC 3261 §17.1.2.2, Timer E)."""
        data, branch = options_request(self.local)
        self.sock.sendto(data, self.server)
        now = time.monotonic()
        deadline = now + timeout
        interval = 0.5
        resend_at = now + interval if retransmit else deadline
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= resend_at:
                self.sock.sendto(data, self.server)
                interval = min(interval * 2, 4.0)
                resend_at = now + interval
            self.sock.settimeout(max(0.001, min(deadline, resend_at) - now))
            try:
                reply, _ = self.sock.recvfrom(65536)
            except (TimeoutError, ConnectionRefusedError):
                continue
            response = parse_response(reply)
            if response.status >= 200 and branch in (response.first("via") or ""):
                return response.status

    def close(self) -> None:
        self.sock.close()


@dataclass
class SteadyClient:
    """A thread asking OPTIONS from `source_ip` every `interval` s until stopped, counting
    the questions, the final answers and the 200s among them; each waits up to
    `timeout` s for its answer, retransmitted as a SIP client would."""

    source_ip: str
    server: tuple
    interval: float = 0.05
    timeout: float = 4.0
    sent: int = 0
    answered: int = 0
    ok: int = 0
    stop_flag: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SteadyClient:
        self.thread.start()
        return self

    def _run(self) -> None:
        probe = UdpProbe(self.source_ip, self.server)
        try:
            next_at = time.monotonic()
            while not self.stop_flag.is_set():
                self.sent += 1
                status = probe.status(self.timeout, retransmit=True)
                if status is not None:
                    self.answered += 1
                    self.ok += status == 200
                next_at += self.interval
                time.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            probe.close()

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(self.timeout + 5)


@dataclass
class SippCounts:
    """Per-second totals from SIPp's -trace_counts file: OPTIONS sent, 200s received."""

    sent: list[int]
    answered: list[int]

    @property
    def total_sent(self) -> int:
        return self.sent[-1] if self.sent else 0

    @property
    def total_answered(self) -> int:
        return self.answered[-1] if self.answered else 0


def sipp_flood(source_ip: str, server_port: int, rate: int, calls: int, work: Path) -> subprocess.Popen:
    """Start SIPp sending `calls` OPTIONS at `rate`/s from `source_ip` over UDP; counts go
    to a -trace_counts file in `work` once a second."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = [
        "sipp", f"127.0.0.1:{server_port}",
        "-sf", str(FLOOD_SCENARIO),
        "-t", "u1",
        "-i", source_ip,
        "-p", str(free_port(socket.SOCK_DGRAM)),
        "-mp", str(free_port(socket.SOCK_DGRAM)),
        "-m", str(calls),
        "-r", str(rate),
        "-timeout", "120s",
        "-nostdin",
        "-trace_counts", "-fd", "1",
    ]
    return subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def sipp_counts(work: Path) -> SippCounts:
    """The per-second counts SIPp wrote in `work` (one run per directory)."""
    files = sorted(work.glob("*_counts.csv"))
    assert files, f"SIPp wrote no counts file in {work}: {list(work.iterdir())}"
    sent, answered = [], []
    with files[-1].open(newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            sent.append(int(row["0_OPTIONS_Sent"]))
            answered.append(int(row["1_200_Recv"]))
    return SippCounts(sent, answered)


@dataclass
class AddressCycler:
    """A thread sending OPTIONS over UDP from source addresses 127.1.0.1 onwards, `count`
    of them, over and over until stopped: `per_address` datagrams from each, and
    `burst` from every `burst_every`-th one (0: none). Answers are not read: the
    sockets close at once."""

    server: tuple
    count: int = 10_000
    per_address: int = 3
    burst_every: int = 20
    burst: int = 150
    datagrams: int = 0
    addresses: int = 0
    stop_flag: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> AddressCycler:
        self.thread.start()
        return self

    def _run(self) -> None:
        n = 0
        while not self.stop_flag.is_set():
            host = 0x7F010001 + (n % self.count)  # 127.1.0.1 + n
            source = socket.inet_ntoa(host.to_bytes(4, "big"))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((source, 0))
                data, _ = options_request(sock.getsockname())
                bursts = self.burst_every > 0 and n % self.burst_every == 0
                times = self.burst if bursts else self.per_address
                for _ in range(times):
                    try:
                        sock.sendto(data, self.server)
                        self.datagrams += 1
                    except OSError:
                        break  # ENOBUFS when the loopback queue is full: move on
            self.addresses += 1
            n += 1

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(10)


@dataclass
class ConnectionChurn:
    """A thread opening TCP connections from `source_ip` as fast as it can, each sending
    one OPTIONS and closing; counts connections made and answers received."""

    source_ip: str
    server: tuple
    connections: int = 0
    answered: int = 0
    stop_flag: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ConnectionChurn:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop_flag.is_set():
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.settimeout(0.5)
                    sock.bind((self.source_ip, 0))
                    sock.connect(self.server)
                    self.connections += 1
                    data, _ = options_request(sock.getsockname(), "tcp")
                    sock.sendall(data)
                    if parse_response(StreamReader(sock).read_message(0.5)).status == 200:
                        self.answered += 1
            except (OSError, SipTimeout):
                time.sleep(0.001)

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(10)


def tcp_options(source_ip: str, server: tuple, timeout: float = 3.0) -> int:
    """One OPTIONS over a fresh TCP connection from `source_ip`; the answer's status."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.bind((source_ip, 0))
        sock.connect(server)
        data, _ = options_request(sock.getsockname(), "tcp")
        sock.sendall(data)
        return parse_response(StreamReader(sock).read_message(timeout)).status


class RssSampler:
    """Samples a process's VmRSS (kB) from /proc every `interval` s in a thread."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS for pid {self.pid}")

    def start(self) -> RssSampler:
        self.started = time.monotonic()
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop_flag.wait(self.interval):
            try:
                self.samples.append((time.monotonic() - self.started, self.rss_kb()))
            except (OSError, AssertionError):
                return

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(5)

    @property
    def peak_kb(self) -> int:
        return max(kb for _, kb in self.samples)
