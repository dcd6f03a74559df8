"""Shared fixtures: a freshly started Herald server per test, on random free ports,
in a temporary data directory, always killed afterwards (its log printed on failure)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INTEROP_DIR = Path(__file__).resolve().parent
REPO = INTEROP_DIR.parent.parent
DOMAIN = "example.com"
START_TIMEOUT = 15.0
CLI_TIMEOUT = 15.0

sys.path.insert(0, str(INTEROP_DIR))


def herald_bin() -> str:
    return os.environ.get("HERALD_BIN", str(REPO / "target" / "release" / "herald"))


def free_port(kind: int) -> int:
    """A port the kernel reports free for `kind` (SOCK_DGRAM/SOCK_STREAM) right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_tcp_port() -> int:
    """A port free for both UDP and TCP (SIP uses the same number for both)."""
    for _ in range(50):
        port = free_port(socket.SOCK_STREAM)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free for both UDP and TCP")


@dataclass
class Herald:
    """A running server and how to reach and administer it."""

    data_dir: Path
    sip_port: int
    tls_port: int
    proc: subprocess.Popen | None = None
    log_lines: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    domain: str = DOMAIN

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `herald --data-dir DIR ARGS...` (through the admin socket while serving)."""
        result = subprocess.run(
            [herald_bin(), "--data-dir", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"herald {' '.join(args)} failed ({result.returncode}): {result.stderr}"
            )
        return result

    def add_user(self, user: str, password: str, display_name: str | None = None) -> None:
        args = ["user", "add", f"{user}@{self.domain}", "--password", password]
        if display_name:
            args += ["--display-name", display_name]
        self.cli(*args)

    def start(self) -> None:
        cmd = [
            herald_bin(),
            "--data-dir",
            str(self.data_dir),
            "serve",
            "--domain",
            self.domain,
            "--listen",
            f"udp:{self.host}:{self.sip_port}",
            "--listen",
            f"tcp:{self.host}:{self.sip_port}",
            "--listen",
            f"tls:{self.host}:{self.tls_port}",
            "--log",
            "debug,sqlx=warn",
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        ready = threading.Event()
        listening: list[str] = []

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log_lines.append(line.rstrip("\n"))
                if line.strip().startswith("listening:"):
                    listening.append(line)
                    if len(listening) >= 3:
                        ready.set()
            ready.set()  # process ended: stop waiting

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(START_TIMEOUT) or len(listening) < 3:
            self.stop()
            raise RuntimeError("herald did not start:\n" + self.log())

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return "\n".join(self.log_lines)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    server = getattr(item, "herald_server", None)
    if report.failed and server is not None:
        # Attached to the failing report itself so pytest prints it with the failure.
        report.sections.append(("herald server log", server.log()))
    return report


@contextlib.contextmanager
def running_herald(config_toml: str = ""):
    """Start a server on random ports with an empty user store; always stop it.
    `config_toml` is written to DATA_DIR/herald.toml first (flags still win)."""
    if not Path(herald_bin()).is_file():
        pytest.fail(f"herald binary not found at {herald_bin()} (set HERALD_BIN)")
    data_dir = Path(tempfile.mkdtemp(prefix="herald-interop-"))
    if config_toml:
        (data_dir / "herald.toml").write_text(config_toml)
    server = Herald(data_dir, free_udp_tcp_port(), free_port(socket.SOCK_STREAM))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def herald(request):
    """A server of this test's own."""
    with running_herald() as server:
        request.node.herald_server = server
        yield server


@pytest.fixture
def herald_md5_first(request):
    """A server that offers MD5 before SHA-256: SIPp 3.6 (Debian's) answers only the
    first challenge and only knows MD5. The default order (SHA-256 first, RFC 8760)
    is checked by test_digest_register.py."""
    with running_herald('[auth]\nalgorithms = ["MD5", "SHA-256"]\n') as server:
        request.node.herald_server = server
        yield server


# --- pjsua2 devices for the IM tests (pjsua_device.py, one process per device) ---

DEVICE_EVENT_TIMEOUT = 10.0


class PjsuaDevice:
    """A running pjsua_device.py: send it commands, wait for its JSON events.

    Every event is kept in arrival order; `wait_for` takes the first not yet taken
    event that matches, so unrelated events (a typing notification arriving between
    two messages) neither get lost nor get in the way."""

    def __init__(
        self,
        user: str,
        password: str,
        transport: str,
        domain: str = DOMAIN,
        server: str = "",
        device_id: str = "",
        expires: int = 300,
        publish: bool = False,
    ):
        self.user = user
        self.transport = transport
        self.device_id = device_id
        cmd = [
            sys.executable,
            str(INTEROP_DIR / "pjsua_device.py"),
            "--transport", transport,
            "--domain", domain,
            "--user", user,
            "--password", password,
            "--expires", str(expires),
        ]
        if server:
            cmd += ["--server", server]
        if device_id:
            cmd += ["--device-id", device_id]
        if publish:
            cmd += ["--publish"]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict] = []
        self.taken: set[int] = set()
        self.stderr: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.local_port = self.wait_for("ready")["local_port"]

    def __repr__(self) -> str:
        return f"<device {self.user}/{self.device_id or '-'} {self.transport}>"

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line}
            with self.changed:
                self.events.append(event)
                self.changed.notify_all()
        with self.changed:
            self.events.append({"event": "exited"})
            self.changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def uri(self, host: str, port: int | None = None) -> str:
        """This device's own address, for device-to-device requests (no server)."""
        return f"sip:{self.user}@{host}:{port or self.local_port};transport={self.transport}"

    def send(self, cmd: str, **args) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()

    def wait_for(self, name: str, timeout: float = DEVICE_EVENT_TIMEOUT, **match) -> dict:
        """The first untaken `name` event whose fields equal `match`; fails after
        `timeout` s, or at once when the device reports an error or exits."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for i, event in enumerate(self.events):
                    if i in self.taken:
                        continue
                    if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                        self.taken.add(i)
                        return event
                    if event["event"] in ("error", "garbage", "exited") and name != "exited":
                        raise AssertionError(f"{self!r}: {event}; stderr:\n{''.join(self.stderr)[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self!r}: no {name} {match or ''} event within {timeout}s; "
                        f"events: {[e['event'] for e in self.events]}"
                    )
                self.changed.wait(left)

    def wait_match(self, name: str, predicate, timeout: float = DEVICE_EVENT_TIMEOUT) -> dict:
        """Like `wait_for`, for the first untaken `name` event for which
        `predicate(event)` holds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for i, event in enumerate(self.events):
                    if i in self.taken:
                        continue
                    if event["event"] == name and predicate(event):
                        self.taken.add(i)
                        return event
                    if event["event"] in ("error", "garbage", "exited"):
                        raise AssertionError(f"{self!r}: {event}; stderr:\n{''.join(self.stderr)[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self!r}: no matching {name} event within {timeout}s; "
                        f"events: {[e['event'] for e in self.events]}"
                    )
                self.changed.wait(left)

    def all(self, name: str, **match) -> list[dict]:
        """Every `name` event so far (taken or not) whose fields equal `match`."""
        with self.changed:
            return [
                e for e in self.events
                if e["event"] == name and all(e.get(k) == v for k, v in match.items())
            ]

    def expect_none(self, name: str, within: float = 1.5, **match) -> None:
        """Fail if a `name` event matching `match` arrives within `within` s."""
        time.sleep(within)
        found = self.all(name, **match)
        assert found == [], f"{self!r}: unexpected {name} events: {found}"

    def register(self) -> dict:
        """Send REGISTER; return the final registration state event."""
        self.send("register")
        return self.wait_for("reg_state")

    def message(self, to: str, body: str, content_type: str = "text/plain") -> dict:
        """Send a pager MESSAGE and return its final status event."""
        self.send("message", to=to, body=body, content_type=content_type)
        return self.wait_for("im_status", body=body)

    def call_state(self, call: str, state: str, timeout: float = DEVICE_EVENT_TIMEOUT) -> dict:
        return self.wait_for("call_state", timeout, call=call, state=state)

    # --- presence (buddy_state / publish_status events) ---

    def subscribe(self, uri: str) -> None:
        """Watch `uri`'s presence (a pj.Buddy subscription)."""
        self.send("subscribe", to=uri)

    def unsubscribe(self, uri: str) -> None:
        self.send("unsubscribe", to=uri)

    def publish(self, status: str = "online", activity: str = "unknown", note: str = "") -> dict:
        """setOnlineStatus (a PUBLISH with --publish); returns the 2xx publish_status.
        Earlier publish_status events are set aside first, so the answer is to this
        PUBLISH or to one PJSIP queued before it."""
        with self.changed:
            self.taken.update(
                i for i, e in enumerate(self.events) if e["event"] == "publish_status"
            )
        self.send("publish", status=status, activity=activity, note=note)
        deadline = time.monotonic() + DEVICE_EVENT_TIMEOUT
        while True:
            answer = self.wait_for("publish_status", max(0.1, deadline - time.monotonic()))
            if answer["code"] < 300:
                return answer
            if answer["code"] not in (401, 407):
                raise AssertionError(f"{self!r}: PUBLISH refused: {answer['response']}")

    def presence_of(self, uri: str) -> dict | None:
        """The latest buddy_state of `uri`, if any."""
        states = self.all("buddy_state", uri=uri)
        return states[-1] if states else None

    def wait_presence(self, uri: str, timeout: float = DEVICE_EVENT_TIMEOUT, **want) -> dict:
        """Wait until the LATEST buddy_state of `uri` has the fields `want` (earlier
        states in between do not count); return it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                latest = self.presence_of(uri)
                if latest is not None and all(latest.get(k) == v for k, v in want.items()):
                    return latest
                for event in self.events:
                    if event["event"] in ("error", "garbage", "exited"):
                        raise AssertionError(
                            f"{self!r}: {event}; stderr:\n{''.join(self.stderr)[-3000:]}"
                        )
                left = deadline - time.monotonic()
                if left <= 0:
                    history = [
                        {k: e.get(k) for k in ("status", "activity", "note", "sub_state", "term_code")}
                        for e in self.all("buddy_state", uri=uri)
                    ]
                    raise AssertionError(
                        f"{self!r}: {uri} never became {want} within {timeout}s; "
                        f"states seen: {history}; last NOTIFY:\n{(latest or {}).get('raw', '')}"
                    )
                self.changed.wait(left)

    def kill(self) -> None:
        """Die like a crashed device: SIGKILL, the kernel closes its sockets."""
        self.send("close")
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def pjsua():
    """Factory for pjsua2 device processes (PjsuaDevice args); all stopped afterwards."""
    started: list[PjsuaDevice] = []

    def start(*args, **kwargs) -> PjsuaDevice:
        device = PjsuaDevice(*args, **kwargs)
        started.append(device)
        return device

    yield start
    for device in started:
        device.stop()


# --- more for the IM tests: servers with a config, restarts, raw MESSAGEs ---


def restart_herald(server: Herald) -> None:
    """Stop the server and start it again on the same ports and data directory."""
    server.stop()
    server.log_lines.append("----- restarted by the test -----")
    server.start()


@pytest.fixture
def herald_with(request):
    """Factory: start(config_toml) -> a server of this test's own with that herald.toml."""
    with contextlib.ExitStack() as stack:

        def start(config_toml: str = "") -> Herald:
            server = stack.enter_context(running_herald(config_toml))
            request.node.herald_server = server
            return server

        yield start


def raw_message(
    client,
    user: str,
    domain: str,
    password: str | None,
    to: str,
    body: bytes,
    content_type: str = "text/plain",
    from_uri: str | None = None,
    algorithm: str = "SHA-256",
):
    """Send an out-of-dialog MESSAGE with a `sipclient.SipClient` as `user`; answer a
    407 with the `algorithm` challenge when a password is given.
    Returns (first final response, final response after authenticating or None)."""
    from sipclient import digest_response, parse_challenge

    headers = [
        f"From: <{from_uri or f'sip:{user}@{domain}'}>;tag={client.from_tag}",
        f"To: <{to}>",
        f"Content-Type: {content_type}",
    ]
    first = client.request("MESSAGE", to, headers, body)
    if first.status != 407 or password is None:
        return first, None
    chosen = None
    for value in first.all("proxy-authenticate"):
        challenge = parse_challenge(value)
        if challenge.get("algorithm", "MD5").upper() == algorithm.upper():
            chosen = challenge
            break
    if chosen is None:
        raise AssertionError(f"no {algorithm} challenge in the 407:\n{first.raw.decode(errors='replace')}")
    auth = digest_response(chosen, user, password, "MESSAGE", to)
    return first, client.request("MESSAGE", to, headers + [f"Proxy-Authorization: {auth}"], body)


@pytest.fixture(scope="session")
def require_im():
    """Skip the IM server tests while the binary under test has no IM at all: it then
    answers MESSAGE 405 without MESSAGE in Allow (issue 3 not landed). Any other answer,
    including a wrong one, runs the tests."""
    from sipclient import SipClient

    with running_herald() as server:
        with SipClient("udp", server.host, server.sip_port) as client:
            resp = client.request(
                "MESSAGE",
                f"sip:nobody@{server.domain}",
                [
                    f"From: <sip:probe@{server.domain}>;tag={client.from_tag}",
                    f"To: <sip:nobody@{server.domain}>",
                    "Content-Type: text/plain",
                ],
                b"probe",
            )
    allowed = {m.strip().upper() for v in resp.all("allow") for m in v.split(",")}
    if resp.status == 405 and "MESSAGE" not in allowed:
        pytest.skip(f"{herald_bin()} has no IM yet: MESSAGE -> 405, Allow: {sorted(allowed)}")


# --- presence: a server that paces NOTIFYs faster than the default second ---


def stop_devices(devices: list[PjsuaDevice]) -> None:
    """Stop devices side by side: each spends about a second shutting PJSIP down."""
    for device in devices:
        if device.proc.poll() is None:
            try:
                device.send("quit")
            except OSError:
                pass
    for device in devices:
        device.stop()


@pytest.fixture
def pjsua_many():
    """Like `pjsua`, for tests with many devices: all are stopped at once afterwards."""
    started: list[PjsuaDevice] = []

    def start(*args, **kwargs) -> PjsuaDevice:
        device = PjsuaDevice(*args, **kwargs)
        started.append(device)
        return device

    yield start
    stop_devices(started)

PRESENCE_NOTIFY_INTERVAL_MS = 200


@pytest.fixture
def presence_herald(request):
    """A server of this test's own whose NOTIFYs are paced every 200 ms, so the
    presence tests wait less (the pacing itself is not what they check)."""
    config = f"[presence]\nnotify_interval_ms = {PRESENCE_NOTIFY_INTERVAL_MS}\n"
    with running_herald(config) as server:
        request.node.herald_server = server
        yield server
