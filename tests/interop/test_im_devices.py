"""The IM test harness itself, checked against real peers WITHOUT Herald: two pjsua2
devices talking straight to each other by IP (pager MESSAGE, typing, a call with
in-dialog MESSAGE / INFO / re-INVITE / BYE), and the SIPp MESSAGE sender against a
SIPp that challenges it (and, for the INVITE session, checks the route set).
When these fail, the IM server tests cannot be trusted."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import time

import pytest

from conftest import INTEROP_DIR, free_port

SIPP_DIR = INTEROP_DIR / "sipp"
TRANSPORTS = ["udp", "tcp"]
HOST = "127.0.0.1"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pager_message_and_typing_device_to_device(pjsua, transport):
    alice = pjsua("alice", "pw", transport)
    bob = pjsua("bob", "pw", transport)

    status = alice.message(bob.uri(HOST), "hello bob")
    assert (status["code"], status["reason"]) == (200, "OK"), status
    got = bob.wait_for("im")
    assert got["body"] == "hello bob" and got["content_type"] == "text/plain", got
    assert got["from"] == "<sip:alice@example.com>", got
    assert got["raw"].startswith("MESSAGE "), got["raw"]

    alice.send("typing", to=bob.uri(HOST), typing=True)
    typing = bob.wait_for("typing")
    assert typing["is_typing"] is True and typing["from"] == "<sip:alice@example.com>", typing
    assert "application/im-iscomposing+xml" in typing["raw"], typing["raw"]
    alice.send("typing", to=bob.uri(HOST), typing=False)
    assert bob.wait_for("typing")["is_typing"] is False
    # Typing notifications are not reported as messages.
    assert len(bob.all("im")) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_call_with_in_dialog_requests_device_to_device(pjsua, transport):
    alice = pjsua("alice", "pw", transport)
    bob = pjsua("bob", "pw", transport)

    alice.send("call", to=bob.uri(HOST), call="c1")
    incoming = bob.wait_for("incoming_call")
    assert incoming["raw"].startswith("INVITE ") and "m=audio" in incoming["raw"], incoming["raw"]
    alice.call_state("c1", "EARLY")
    bob.send("answer", call=incoming["call"], code=200)
    confirmed = alice.call_state("c1", "CONFIRMED")
    assert bob.call_state(incoming["call"], "CONFIRMED")["call_id"] == confirmed["call_id"]

    alice.send("call_message", call="c1", body="inside the call")
    got = bob.wait_for("im", call=incoming["call"])
    assert got["body"] == "inside the call", got
    assert alice.wait_for("im_status", call="c1")["code"] == 200

    alice.send("call_request", call="c1", method="INFO", body="an info")
    info = bob.wait_for("call_tsx", call=incoming["call"], method="INFO", role="uas")
    assert info["rx"].startswith("INFO "), info
    # pjsua2 has no API to answer an INFO that is not DTMF: PJSIP answers 500 itself.
    assert alice.wait_for("call_tsx", call="c1", method="INFO", role="uac")["code"] == 500

    alice.send("reinvite", call="c1")
    assert bob.wait_for("call_tsx", call=incoming["call"], method="INVITE", role="uas")["rx"].startswith("INVITE ")
    assert alice.wait_for("call_tsx", call="c1", method="INVITE", role="uac")["code"] == 200

    bob.send("hangup", call=incoming["call"])
    ended = alice.call_state("c1", "DISCONNECTED")
    assert ended["rx"].startswith("BYE "), ended


def test_killed_device_exits_at_once(pjsua):
    device = pjsua("alice", "pw", "tcp")
    device.kill()
    assert device.proc.returncode != 0
    device.wait_for("exited", timeout=5)


def proxy_authorization_params(value: str) -> dict[str, str]:
    return {m.group(1): m.group(2) or m.group(3) for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value)}


def wait_listening(port: int, transport: str, timeout: float = 5.0) -> None:
    """Wait until something listens on 127.0.0.1:port (TCP: in LISTEN state)."""
    table, state = ("/proc/net/tcp", "0A") if transport == "tcp" else ("/proc/net/udp", "07")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == state:
                    return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {transport} port {port}")


SIPP_PAIRS = {
    "message": ("im_message_uac.xml", "im_challenge_uas.xml"),
    "invite": ("im_invite_uac.xml", "im_invite_challenge_uas.xml"),
}


@pytest.mark.parametrize("pair", sorted(SIPP_PAIRS))
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_sender_answers_a_407_and_follows_the_route_set(tmp_path, transport, pair):
    uac_scenario, uas_scenario = SIPP_PAIRS[pair]
    calls = 3
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"SEQUENTIAL\nalice;bob;{HOST};[authentication username=alice password=s3cret];\n")
    flag = {"udp": "u1", "tcp": "t1"}[transport]
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    uas_port = free_port(kind)
    uas_log = tmp_path / "uas.log"
    uas = subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / uas_scenario), "-t", flag, "-i", HOST, "-p", str(uas_port),
         "-nostdin", "-timeout", "30s", "-trace_logs", "-log_file", str(uas_log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        wait_listening(uas_port, transport)
        uac = subprocess.run(
            ["sipp", f"{HOST}:{uas_port}", "-sf", str(SIPP_DIR / uac_scenario), "-inf", str(csv),
             "-t", flag, "-i", HOST, "-p", str(free_port(kind)), "-m", str(calls), "-l", "1",
             "-nostdin", "-timeout", "15s", "-timeout_error", "-recv_timeout", "5000",
             "-default_behaviors", "all,-bye"],
            capture_output=True, text=True, timeout=30, cwd=tmp_path,
        )
        assert uac.returncode == 0, uac.stdout[-3000:] + uac.stderr
    finally:
        # Ended by us, not by -m: a SIPp that exits after its last call closes the TCP
        # connection under the sender, which SIPp counts as an error.
        if uas.poll() is None:
            uas.terminate()
            try:
                uas.wait(10)
            except subprocess.TimeoutExpired:
                uas.kill()
                uas.wait(5)
    log = uas_log.read_text().splitlines()
    if pair == "invite":
        # ACK, MESSAGE and BYE each carried the Record-Route of the 200 as Route.
        for method in ("ACK", "MESSAGE", "BYE"):
            assert sum(line.startswith(f"route on {method} check=") for line in log) == calls, log
    # The challenger logged each Proxy-Authorization it got: check the MD5 digest.
    logged = [line for line in log if line.startswith("credentials ")]
    assert len(logged) == calls, logged
    for line in logged:
        p = proxy_authorization_params(line)
        assert p["username"] == "alice" and p["realm"] == "example.com", p

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5("alice:example.com:s3cret")
        ha2 = md5(f"{pair.upper()}:{p['uri']}")
        assert p["response"] == md5(f"{ha1}:{p['nonce']}:{ha2}"), p
