"""Shared fixtures: a freshly started Herald server per test, on random free ports,
in a temporary data directory, always killed afterwards (its log printed on failure)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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
