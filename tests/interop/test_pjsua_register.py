"""PJSIP (pjsua2) devices registering alice against Herald over UDP, TCP and TLS.

Each device is a separate process (pjsua_device.py: pjsua2 allows one Endpoint per
process). What the registrar really stored is checked with an independent client
(sipclient.py): an authenticated REGISTER without Contact lists the bindings.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time

import pytest

from conftest import INTEROP_DIR
from sipclient import contact_expires, contact_uri, parse_response, query_bindings

EVENT_TIMEOUT = 10.0
ALICE_PASSWORD = "alice-secret"


class DeviceProcess:
    """A running pjsua_device.py: send it commands, wait for its JSON events."""

    def __init__(self, herald, transport: str, device_id: str, expires: int = 300):
        port = herald.tls_port if transport == "tls" else herald.sip_port
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(INTEROP_DIR / "pjsua_device.py"),
                "--transport", transport,
                "--server", f"{herald.host}:{port}",
                "--domain", herald.domain,
                "--user", "alice",
                "--password", ALICE_PASSWORD,
                "--expires", str(expires),
                "--device-id", device_id,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        ready = self.wait_event("ready")
        self.local_port = ready["local_port"]

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "garbage", "line": line})
        self.events.put({"event": "exited"})

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def command(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd}) + "\n")
        self.proc.stdin.flush()

    def wait_event(self, name: str, timeout: float = EVENT_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} event within {timeout}s; stderr:\n{''.join(self.stderr)}")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event["event"] == name:
                return event
            if event["event"] in ("exited", "error", "garbage"):
                raise AssertionError(f"device: {event}; stderr:\n{''.join(self.stderr)}")

    def register(self) -> dict:
        """Send REGISTER; return the final registration state event."""
        self.command("register")
        return self.wait_event("reg_state")

    def unregister(self) -> dict:
        self.command("unregister")
        return self.wait_event("reg_state")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.command("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def devices(herald):
    """Factory for device processes; all of them are stopped after the test."""
    started: list[DeviceProcess] = []
    herald.add_user("alice", ALICE_PASSWORD, "Alice")

    def start(transport: str, device_id: str, expires: int = 300) -> DeviceProcess:
        device = DeviceProcess(herald, transport, device_id, expires)
        started.append(device)
        return device

    yield start
    for device in started:
        device.stop()


def alice_bindings(herald, transport: str = "udp") -> list[str]:
    """The Contact URIs the registrar holds for alice, seen by an independent client."""
    resp = query_bindings(transport, herald.host, herald.sip_port, "alice", herald.domain, ALICE_PASSWORD)
    assert resp.status == 200, resp.raw
    return [contact_uri(c) for c in resp.contacts()]


def device_uris(uris: list[str], device_id: str) -> list[str]:
    return [u for u in uris if f";device={device_id}" in u]


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_register_refresh_and_unregister(herald, devices, transport):
    device = devices(transport, f"d-{transport}")

    first = device.register()
    assert first["code"] == 200, first
    assert first["active"] and first["expiration"] > 0, first
    ok = parse_response(first["response"].encode())
    mine = device_uris([contact_uri(c) for c in ok.contacts()], f"d-{transport}")
    assert len(mine) == 1, ok.raw
    if transport == "udp":
        assert f":{device.local_port}" in mine[0], (mine, device.local_port)
    else:
        # Over a connection PJSIP advertises the connection's own local port.
        assert f"transport={transport}" in mine[0].lower(), mine
    assert len(device_uris(alice_bindings(herald), f"d-{transport}")) == 1

    refreshed = device.register()
    assert refreshed["code"] == 200 and refreshed["expiration"] > 0, refreshed
    # A refresh updates the binding, it does not add a second one.
    assert len(device_uris(alice_bindings(herald), f"d-{transport}")) == 1

    gone = device.unregister()
    assert gone["code"] == 200, gone
    assert alice_bindings(herald) == []


def test_too_short_expiry_is_raised_to_min_expires(herald, devices):
    # Herald's Min-Expires is 60: a device asking for 30 gets 423 and must retry with
    # the server's minimum (RFC 3261 §10.2.8); PJSIP does that on its own.
    device = devices("udp", "d-short", expires=30)
    state = device.register()
    assert state["code"] == 200, state
    assert 30 < state["expiration"] <= 60, state
    resp = query_bindings("udp", herald.host, herald.sip_port, "alice", herald.domain, ALICE_PASSWORD)
    mine = [c for c in resp.contacts() if ";device=d-short" in contact_uri(c)]
    assert len(mine) == 1, resp.raw
    assert 0 < (contact_expires(mine[0]) or 0) <= 60, mine


def test_two_devices_are_both_listed(herald, devices):
    on_udp = devices("udp", "phone")
    on_tcp = devices("tcp", "laptop")
    assert on_udp.register()["code"] == 200
    second = on_tcp.register()
    assert second["code"] == 200, second

    # The 200 to the second device already lists both bindings (RFC 3261 §10.3 step 8).
    listed = [contact_uri(c) for c in parse_response(second["response"].encode()).contacts()]
    assert len(device_uris(listed, "phone")) == 1, listed
    assert len(device_uris(listed, "laptop")) == 1, listed

    # And a third party's query shows both, with distinct contacts.
    uris = alice_bindings(herald, "tcp")
    phone, laptop = device_uris(uris, "phone"), device_uris(uris, "laptop")
    assert len(phone) == 1 and len(laptop) == 1, uris
    assert phone[0] != laptop[0]
    assert f":{on_udp.local_port}" in phone[0], uris
    assert "transport=tcp" in laptop[0].lower(), uris

    # Unregistering one device leaves the other.
    assert on_udp.unregister()["code"] == 200
    uris = alice_bindings(herald)
    assert device_uris(uris, "phone") == [] and len(device_uris(uris, "laptop")) == 1, uris


def test_removing_the_user_ends_bindings_at_once(herald, devices):
    on_udp = devices("udp", "phone")
    on_tcp = devices("tcp", "laptop")
    assert on_udp.register()["code"] == 200
    assert on_tcp.register()["code"] == 200
    assert len(alice_bindings(herald)) == 2

    herald.cli("user", "remove", f"alice@{herald.domain}")

    # The user no longer exists: a query gets 403 now, like any unknown user.
    resp = query_bindings("udp", herald.host, herald.sip_port, "alice", herald.domain, ALICE_PASSWORD)
    assert resp.status == 403, resp.raw
    refresh = on_tcp.register()
    assert refresh["code"] == 403, refresh

    # Re-creating alice must not resurrect the old bindings.
    herald.add_user("alice", ALICE_PASSWORD)
    assert alice_bindings(herald) == []
