"""SIGTERM while requests are in flight: the server stops taking new connections and
answers new requests 503 with Retry-After, lets the MESSAGEs already forked to a device
finish (their 200 OK reaches the senders), closes its TCP connections with a FIN (no
reset), and exits 0 within the drain bound."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from conftest import running_herald
from im_peers import Device, Sender

PASSWORD = "drain-pw"
DEVICE_DELAY = 2.0
DRAIN_TIMEOUT = 8
IN_FLIGHT = 4


def test_sigterm_drains_requests_in_flight_then_exits_0(request):
    config = f"[server]\ndrain_timeout_secs = {DRAIN_TIMEOUT}\n"
    with running_herald(config) as server:
        request.node.herald_server = server
        for i in range(IN_FLIGHT + 1):
            server.add_user(f"s{i}", PASSWORD)
        server.add_user("bob", PASSWORD)
        # Bob's device takes DEVICE_DELAY to answer: his MESSAGEs stay in flight that long.
        device = Device(server.host, server.sip_port, "bob", server.domain, PASSWORD,
                        delay=DEVICE_DELAY)
        assert device.register() == 200
        device.start()
        senders = [
            Sender("tcp", (server.host, server.sip_port), f"127.0.0.{20 + i}", f"s{i}",
                   server.domain, PASSWORD, timeout=15.0)
            for i in range(IN_FLIGHT + 1)
        ]
        late = senders.pop()
        try:
            results: dict[int, int] = {}

            def send(i: int) -> None:
                results[i] = senders[i].message("bob", f"in flight {i}".encode()).status

            threads = [threading.Thread(target=send, args=(i,)) for i in range(IN_FLIGHT)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10
            while len(device.received()) < IN_FLIGHT:
                assert time.monotonic() < deadline, "the MESSAGEs did not reach the device"
                time.sleep(0.02)

            term_at = time.monotonic()
            os.kill(server.proc.pid, signal.SIGTERM)
            time.sleep(0.3)

            # New work during the drain: a new connection is refused, a new request on an
            # open one gets 503 with a Retry-After.
            with socket.socket() as s:
                s.settimeout(2)
                try:
                    s.connect((server.host, server.sip_port))
                    refused = False
                except (ConnectionRefusedError, ConnectionResetError):
                    refused = True
            assert refused, "a new TCP connection was accepted during the drain"
            refusal = late.message("bob", b"too late")
            assert refusal.status == 503, refusal.raw
            assert int(refusal.first("retry-after") or "0") >= 1, refusal.raw

            for t in threads:
                t.join(15)
            assert results == {i: 200 for i in range(IN_FLIGHT)}, results
            code = server.proc.wait(DRAIN_TIMEOUT + 5)
            took = time.monotonic() - term_at
            assert code == 0, server.log()
            assert DEVICE_DELAY - 0.5 < took < DRAIN_TIMEOUT, f"exit {took:.1f} s after SIGTERM"

            # Every connection was closed in order: end of stream, not a reset.
            for sender in senders + [late]:
                sender.sock.settimeout(5)
                assert sender.sock.recv(4096) == b"", "data after the answers"
            log = server.log()
            assert "draining" in log and "drained" in log, log
            print(f"\nSIGTERM to exit: {took:.2f} s with {IN_FLIGHT} MESSAGEs in flight "
                  f"(device answers after {DEVICE_DELAY} s, drain bound {DRAIN_TIMEOUT} s)")
        finally:
            for sender in senders + [late]:
                sender.close()
            device.stop()
