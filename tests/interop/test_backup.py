"""`herald backup` under a load of IM to an offline user, then `herald restore` of that
backup into the running server: the backup is a consistent snapshot (every message
accepted before it started, the queue a gap-free prefix, integrity_check ok), and after the
restore the user is handed exactly the messages of the backup."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from pathlib import Path

from conftest import running_herald
from im_peers import Device, Sender
from sipclient import SipTimeout

SENDERS = 6
PASSWORD = "backup-pw"


def load(server, index: int, acked: list, stop: threading.Event, lock: threading.Lock) -> None:
    transport = "udp" if index % 2 == 0 else "tcp"
    sender = Sender(transport, (server.host, server.sip_port), f"127.0.0.{40 + index}",
                    f"s{index}", server.domain, PASSWORD, timeout=5.0)
    n = 0
    try:
        while not stop.is_set():
            body = f"backup s{index} #{n} {os.urandom(4).hex()}".encode()
            n += 1
            if sender.message("rcpt", body).status == 202:
                with lock:
                    acked.append(body)
            # About what a busy user types: the per-user MESSAGE limit is never reached.
            time.sleep(0.05)
    except (SipTimeout, OSError) as e:
        raise AssertionError(f"sender {index} failed under load: {e}") from e
    finally:
        sender.close()


def queued_bodies(db: Path) -> list[tuple[int, bytes]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT id, body FROM offline_messages ORDER BY id").fetchall()


def test_backup_under_load_then_live_restore(request, tmp_path):
    with running_herald("[im]\noffline_queue_limit = 100000\n") as server:
        request.node.herald_server = server
        for i in range(SENDERS):
            server.add_user(f"s{i}", PASSWORD)
        server.add_user("rcpt", PASSWORD)
        acked: list[bytes] = []
        lock = threading.Lock()
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(server, i, acked, stop, lock), daemon=True)
                   for i in range(SENDERS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 100:
            assert time.monotonic() < deadline, f"only {len(acked)} 202s in 60 s"
            time.sleep(0.01)

        backup = tmp_path / "under-load.db"
        with lock:
            accepted_before = list(acked)
        started = time.monotonic()
        out = server.cli("backup", str(backup)).stdout
        took = time.monotonic() - started
        with lock:
            accepted_after = list(acked)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(10)
        with lock:
            accepted_in_the_end = len(acked)

        m = re.search(r"(\d+) bytes, schema version \d+: (\d+) users, (\d+) offline messages", out)
        assert m, out
        queued = queued_bodies(backup)
        assert int(m.group(3)) == len(queued)
        assert int(m.group(2)) == SENDERS + 1
        ids = [i for i, _ in queued]
        assert ids == list(range(ids[0], ids[0] + len(ids))), "a gap-free prefix of the queue"
        in_backup = [b for _, b in queued]
        assert set(accepted_before) <= set(in_backup), "everything accepted before the backup"
        assert len(in_backup) <= len(accepted_after) + SENDERS
        print(f"\nbackup under load: {len(in_backup)} queued messages, {int(m.group(1))} bytes, "
              f"{took:.2f} s; {len(accepted_before)} accepted before it began, "
              f"{len(accepted_after)} by its end")

        # The load went on after the snapshot: the live store has more than the backup.
        assert accepted_in_the_end > len(in_backup)
        out = server.cli("restore", str(backup)).stdout
        assert "(server running)" in out, out
        assert f"{len(in_backup)} offline messages" in out, out
        device = Device(server.host, server.sip_port, "rcpt", server.domain, PASSWORD)
        try:
            assert device.register() == 200
            device.start()
            device.wait_quiet(quiet=2.0, timeout=60)
            delivered = device.received()
        finally:
            device.stop()
        assert delivered == in_backup, (
            f"{len(delivered)} delivered, {len(in_backup)} in the backup"
        )
        kept = list(server.data_dir.glob("herald.db.before-restore-*"))
        assert [p for p in kept if not p.name.endswith("-wal")], "the replaced store is kept"
