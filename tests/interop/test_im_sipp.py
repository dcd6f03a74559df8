"""SIPp (an independent SIP implementation) exchanging IMs through Herald, over UDP
and TCP: a SIPp that registered as bob (and stays on its flow) answers what Herald
relays to it; a second SIPp sends as alice, answering Herald's 407 with MD5 digest
(SIPp 3.6 knows only MD5 and answers the first challenge: `herald_md5_first`)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import INTEROP_DIR, free_port

# Skipped (with the reason) only while the server answers MESSAGE 405: IM not there yet.
pytestmark = pytest.mark.usefixtures("require_im")

SIPP_DIR = INTEROP_DIR / "sipp"
FLAGS = {"udp": "u1", "tcp": "t1"}
CALLS = 5
ALICE_PW, BOB_PW = "alice-pw", "bob-pw"


def sipp_cmd(herald, scenario: str, csv: Path, transport: str, work: Path, name: str, *extra: str) -> list[str]:
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    return [
        "sipp", f"{herald.host}:{herald.sip_port}",
        "-sf", str(SIPP_DIR / scenario),
        "-inf", str(csv),
        "-t", FLAGS[transport],
        "-i", "127.0.0.1",
        "-p", str(free_port(kind)),
        "-nostdin",
        "-trace_msg", "-message_file", str(work / f"{name}.msg"),
        "-trace_err", "-error_file", str(work / f"{name}.err"),
        "-trace_logs", "-log_file", str(work / f"{name}.log"),
        *extra,
    ]


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def start_callee(herald, transport: str, work: Path, ooc_scenario: str) -> subprocess.Popen:
    """A SIPp registered as bob that stays on its flow; relayed requests go to `ooc_scenario`."""
    csv = work / "bob.csv"
    csv.write_text(f"SEQUENTIAL\nbob;{herald.domain};[authentication username=bob password={BOB_PW}];\n")
    proc = subprocess.Popen(
        sipp_cmd(herald, "im_register_and_wait.xml", csv, transport, work, "callee",
                 "-oocsf", str(SIPP_DIR / ooc_scenario), "-m", "1", "-d", "60000"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=work,
    )
    # Registered once the 200 is logged.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if re.search(r"^SIP/2\.0 200", read(work / "callee.msg"), re.MULTILINE):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait(5)
    raise AssertionError(f"the SIPp callee did not register:\n{read(work / 'callee.msg')}\n{read(work / 'callee.err')}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_caller(herald, scenario: str, transport: str, work: Path) -> subprocess.CompletedProcess:
    csv = work / "pairs.csv"
    csv.write_text(
        f"SEQUENTIAL\nalice;bob;{herald.domain};[authentication username=alice password={ALICE_PW}];\n"
    )
    return subprocess.run(
        sipp_cmd(herald, scenario, csv, transport, work, "caller",
                 "-m", str(CALLS), "-l", "1", "-r", "20", "-timeout", "30s", "-timeout_error",
                 "-recv_timeout", "5000", "-default_behaviors", "all,-bye"),
        capture_output=True, text=True, timeout=60, cwd=work,
    )


def received(trace: str, first_line: str) -> list[str]:
    """Messages SIPp logged as received whose first line starts with `first_line`."""
    blocks = re.split(r"-{10,}.*\n", trace)
    return [b for b in blocks if "message received" in b and re.search(rf"^{re.escape(first_line)}", b, re.MULTILINE)]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_pager_messages_through_herald(herald_md5_first, tmp_path, transport):
    herald = herald_md5_first
    herald.add_user("alice", ALICE_PW)
    herald.add_user("bob", BOB_PW)
    callee = start_callee(herald, transport, tmp_path, "im_message_uas.xml")
    try:
        caller = run_caller(herald, "im_message_uac.xml", transport, tmp_path)
    finally:
        stop(callee)
    trace = read(tmp_path / "caller.msg")
    assert caller.returncode == 0, f"{read(tmp_path / 'caller.err')}\n{caller.stdout[-3000:]}"
    assert len(received(trace, "SIP/2.0 407")) == CALLS, trace[-3000:]
    assert len(received(trace, "SIP/2.0 200")) == CALLS, trace[-3000:]
    # Each MESSAGE reached the registered SIPp once, with the sender's body.
    delivered = received(read(tmp_path / "callee.msg"), "MESSAGE ")
    assert len(delivered) == CALLS, read(tmp_path / "callee.msg")[-3000:]
    assert all("from alice to bob" in m for m in delivered), delivered


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_invite_session_through_herald(herald_md5_first, tmp_path, transport):
    herald = herald_md5_first
    herald.add_user("alice", ALICE_PW)
    herald.add_user("bob", BOB_PW)
    callee = start_callee(herald, transport, tmp_path, "im_invite_uas.xml")
    try:
        caller = run_caller(herald, "im_invite_uac.xml", transport, tmp_path)
    finally:
        stop(callee)
    callee_trace = read(tmp_path / "callee.msg")
    assert caller.returncode == 0, (
        f"{read(tmp_path / 'caller.err')}\n{caller.stdout[-3000:]}\ncallee:\n{callee_trace[-3000:]}"
    )
    # The in-dialog requests reached the callee through Herald: each carries Herald's Via on top.
    herald_via = f"{herald.host}:{herald.sip_port}"
    for method in ("ACK ", "MESSAGE ", "BYE "):
        got = received(callee_trace, method)
        assert len(got) >= CALLS, (method, callee_trace[-3000:])
        for m in got:
            vias = re.findall(r"^Via:.*$", m, re.MULTILINE | re.IGNORECASE)
            assert len(vias) >= 2 and herald_via in vias[0], m
