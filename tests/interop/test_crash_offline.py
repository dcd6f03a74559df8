"""kill -9 during a load of IM to an offline user, then a restart on the same data
directory with no manual step: every MESSAGE that got 202 Accepted is delivered when the
user registers. A message stored whose 202 was lost in the crash may arrive without a 202
(allowed, and counted); a message delivered twice is counted too.

Checked with both `[store] synchronous` settings: both keep every commit through a crash
of the process (they differ on a power cut, which a test cannot make)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from conftest import restart_herald, running_herald
from im_peers import Device, Sender
from sipclient import SipTimeout

SENDERS = 12
KILL_AFTER = 300
PASSWORD = "load-pw"


def sender_loop(server, index: int, acked: list, attempted: list, stop: threading.Event,
                lock: threading.Lock) -> None:
    transport = "udp" if index % 2 == 0 else "tcp"
    try:
        sender = Sender(transport, (server.host, server.sip_port), f"127.0.0.{10 + index}",
                        f"s{index:02d}", server.domain, PASSWORD, timeout=3.0)
    except OSError:
        return
    n = 0
    try:
        while not stop.is_set():
            body = f"crash s{index:02d} #{n} {os.urandom(4).hex()}".encode()
            n += 1
            with lock:
                attempted.append(body)
            resp = sender.message("rcpt", body)
            if resp.status == 202:
                with lock:
                    acked.append(body)
    except (SipTimeout, OSError):
        # The server was killed: a UDP sender hears nothing more, a TCP one is cut off.
        pass
    finally:
        sender.close()


@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_every_accepted_message_survives_kill_9(request, synchronous):
    config = f'[im]\noffline_queue_limit = 100000\n[store]\nsynchronous = "{synchronous}"\n'
    with running_herald(config) as server:
        request.node.herald_server = server
        for i in range(SENDERS):
            server.add_user(f"s{i:02d}", PASSWORD)
        server.add_user("rcpt", PASSWORD)

        acked: list[bytes] = []
        attempted: list[bytes] = []
        lock = threading.Lock()
        stop = threading.Event()
        threads = [
            threading.Thread(target=sender_loop,
                             args=(server, i, acked, attempted, stop, lock), daemon=True)
            for i in range(SENDERS)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < KILL_AFTER:
            assert time.monotonic() < deadline, f"only {len(acked)} 202s in 60 s"
            assert server.alive(), "the server died under load"
            time.sleep(0.005)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(5)
        load_secs = time.monotonic() - started
        with lock:
            acked_at_kill = list(acked)
            attempted_at_kill = len(attempted)
        stop.set()
        for t in threads:
            t.join(10)
        with lock:
            acked_final = list(acked)
        # A 202 the server wrote just before the kill can still be read after it (it was
        # in the socket buffer), so the final list may be longer, by at most one message
        # per sender; each of those must be durable like the rest.
        assert acked_final[: len(acked_at_kill)] == acked_at_kill
        assert len(acked_final) - len(acked_at_kill) <= SENDERS, "202s after the kill"

        restart_herald(server)
        assert server.alive()
        device = Device(server.host, server.sip_port, "rcpt", server.domain, PASSWORD)
        try:
            assert device.register() == 200
            device.start()
            device.wait_quiet(quiet=3.0, timeout=120)
            delivered = device.received()
        finally:
            device.stop()

        unique = set(delivered)
        missing = [b for b in acked_final if b not in unique]
        duplicates = len(delivered) - len(unique)
        extra = len(unique - set(acked_final))
        print(
            f"\n[synchronous={synchronous}] attempted {attempted_at_kill}, 202 before kill -9 "
            f"{len(acked_final)} ({len(acked_final) / load_secs:.0f}/s), delivered after restart {len(delivered)} "
            f"({len(unique)} distinct): missing {len(missing)}, duplicates {duplicates}, "
            f"stored without a 202 {extra}"
        )
        assert not missing, f"{len(missing)} accepted messages lost, e.g. {missing[:3]}"
        assert unique <= set(attempted), "nothing delivered that was never sent"
        assert extra <= SENDERS, "at most one message per sender in flight at the kill"
        assert duplicates == 0
        assert "IM service ready" in server.log()
