"""SIPVicious (PyPI `sipvicious`: svmap, svwar, svcrack) against a local Herald, run as
an attacker at 127.0.0.2 while the real user works from 127.0.0.3:

- svmap may find the server, but nothing about its users;
- svwar, with a dictionary holding the real users, finds no extension with REGISTER,
  INVITE or OPTIONS (unknown and known users get the same answers);
- svcrack, with a wordlist holding the real password at position 25, finds nothing:
  five wrong answers lock (alice, 127.0.0.2) out and the right one is then refused like
  a wrong one; the lock is logged; alice still registers from 127.0.0.3 during and
  after the attack. A control run with the lockout out of reach shows svcrack does
  crack that wordlist against Herald, so the lockout is what stops it;
- a wrong password costs the same time for a known and an unknown user, and their
  challenges differ only in the nonce.

svcrack only computes MD5 digests, so its servers offer MD5 first.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import running_herald
from sipclient import SipClient, digest_response, parse_challenge

ATTACKER = "127.0.0.2"
OWNER = "127.0.0.3"
TOOL_TIMEOUT = 90.0  # each tool run is bounded; on loopback they finish in seconds
PASSWORD = "Tr0ub4dor&3"
USERS = {"alice": PASSWORD, "1001": "one-zero-zero-one", "bob": "bobs-secret"}
MD5_FIRST = '[auth]\nalgorithms = ["MD5", "SHA-256"]\n'
# Extensions svwar tries: common names and numbers, the real users among them.
DICTIONARY = [
    "100", "101", "200", "1000", "1001", "1002", "2000", "admin", "administrator",
    "alice", "bob", "carol", "dave", "guest", "info", "operator", "reception", "root",
    "sales", "support", "test", "user", "voicemail", "webmaster",
]
# Passwords svcrack tries: the real one at position 25.
WORDLIST = [f"guess{i:02d}" for i in range(24)] + [PASSWORD] + ["letmein", "123456"]


def tool_installed() -> bool:
    return importlib.util.find_spec("sipvicious") is not None


@pytest.fixture(scope="module")
def sipvicious_tools() -> None:
    """SIPVicious from PyPI, installed with pip if missing (as run.sh installs pjsua2)."""
    if tool_installed():
        return
    pip = [sys.executable, "-m", "pip", "install", "-q", "sipvicious"]
    result = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        # Debian's system Python refuses global installs without this flag (PEP 668).
        result = subprocess.run(
            pip + ["--break-system-packages"], capture_output=True, text=True, timeout=300
        )
    if result.returncode != 0 or not tool_installed():
        pytest.fail(f"cannot install sipvicious with pip: {result.stderr}")


def tool_command(tool: str, *args: str) -> list[str]:
    """The command running sipvicious_<tool> with `args`, its sockets bound to ATTACKER.

    The tools' own -b (binding address) option is parsed but never used (sipvicious
    0.3.8 does not pass it on), so a wrapper binds their wildcard binds to ATTACKER."""
    code = (
        "import socket, sys\n"
        "_bind = socket.socket.bind\n"
        "def bind(sock, address):\n"
        "    if address[0] in ('', '0.0.0.0'):\n"
        f"        address = ({ATTACKER!r},) + tuple(address[1:])\n"
        "    return _bind(sock, address)\n"
        "socket.socket.bind = bind\n"
        f"from sipvicious.{tool} import main\n"
        f"sys.argv[0] = 'sipvicious_{tool}'\n"
        "main()\n"
    )
    return [sys.executable, "-c", code, "-x", ATTACKER, *args]


def run_tool(tool: str, *args: str, timeout: float = TOOL_TIMEOUT) -> str:
    """Runs sipvicious_<tool> with `args`; returns its output (stdout and log lines)."""
    result = subprocess.run(
        tool_command(tool, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return result.stdout + result.stderr


def add_users(herald) -> None:
    for user, password in USERS.items():
        herald.add_user(user, password)


def client_at(ip: str, herald) -> SipClient:
    """A UDP SipClient whose socket is bound to `ip` (SipClient binds 127.0.0.1)."""
    client = SipClient("udp", herald.host, herald.sip_port)
    client.sock.close()
    client.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.sock.bind((ip, 0))
    client.local = client.sock.getsockname()
    return client


def register_from(ip: str, herald, user: str, password: str, algorithm: str = "MD5") -> int:
    """The final status of a digest REGISTER of `user` sent from `ip` (one device: the
    same Contact every time, so repeated calls refresh one binding)."""
    with client_at(ip, herald) as client:
        contact = f"sip:{user}@{ip}:5999"
        resp = client.register(user, herald.domain, password, [contact], algorithm=algorithm)
        return resp.status


def test_svmap_may_find_the_server_but_learns_no_user(sipvicious_tools, herald):
    add_users(herald)
    out = run_tool("svmap", "-p", str(herald.sip_port), herald.host)
    # It sees a SIP server (that is fine: the server is public) ...
    assert f"{herald.host}:{herald.sip_port}" in out, out
    # ... and nothing about who is on it.
    for user in USERS:
        assert not re.search(rf"\b{user}\b", out), out
    assert herald.alive()


def svwar(herald, dictionary: Path, method: str, *extra: str) -> str:
    return run_tool(
        "svwar",
        "-p", str(herald.sip_port), "-d", str(dictionary), "-m", method,
        "--domain", herald.domain, "--maximumtime", "5", "-v", *extra, herald.host,
    )


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_svwar_finds_no_extension(sipvicious_tools, herald, tmp_path, method):
    add_users(herald)
    dictionary = tmp_path / "extensions.txt"
    dictionary.write_text("\n".join(DICTIONARY) + "\n")
    assert set(USERS) <= set(DICTIONARY)

    # Its first run stops at the sanity check when an unknown extension is challenged
    # like a real one; --force scans anyway, comparing every answer with the one a
    # random (unknown) extension got. Either way it reports no extension.
    for extra in ([], ["--force"]):
        out = svwar(herald, dictionary, method, *extra)
        assert "exists" not in out, f"svwar {method} {extra}:\n{out}"
        assert "found nothing" in out, out
        for user in USERS:
            assert f"| {user} " not in out and f"'{user}'" not in out, out
        if extra:
            assert "Ok SIP device found" in out, out  # the server did answer the scan
        elif method != "OPTIONS":
            assert "authentication request for an unknown extension" in out, out
    assert herald.alive()

    # svwar stops at the first answer equal to the unknown extension's when that is a
    # challenge, so ask for every name of the dictionary the way it does: the answers
    # are the same for all of them, real users or not.
    shapes = {name: answer_shape(herald, method, name) for name in DICTIONARY}
    first = shapes[DICTIONARY[0]]
    assert first[0] == {"REGISTER": 401, "INVITE": 407, "OPTIONS": 200}[method], first
    different = {name: shape for name, shape in shapes.items() if shape != first}
    assert not different, (first, different)


def answer_shape(herald, method: str, name: str) -> tuple:
    """Status, reason and headers of the answer to `method` for extension `name` as svwar
    sends it (From and To the extension), without what echoes the request and nonces."""
    aor = f"sip:{name}@{herald.domain}"
    ruri = f"sip:{herald.domain}" if method == "REGISTER" else aor
    headers = [f"From: <{aor}>;tag=sv{name}", f"To: <{aor}>", f"Contact: <{aor}>"]
    with client_at(ATTACKER, herald) as client:
        resp = client.request(method, ruri, headers)
        if method == "INVITE":
            client.send(ack_bytes(client, ruri, headers, resp))
    return (resp.status, resp.reason, challenge_shape(resp))


def ack_bytes(client: SipClient, ruri: str, headers: list[str], resp) -> bytes:
    """The ACK for a non-2xx final answer to the client's last INVITE (same branch)."""
    via = resp.first("via") or ""
    to = resp.first("to") or ""
    lines = [
        f"ACK {ruri} SIP/2.0",
        f"Via: {via.split(';received')[0]}",
        "Max-Forwards: 70",
        headers[0],
        f"To: {to}",
        f"Call-ID: {client.call_id}",
        f"CSeq: {client.cseq} ACK",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def svcrack(herald, wordlist: Path, user: str, pace: str = "0.005") -> subprocess.Popen:
    """svcrack in the background; `pace`: seconds it waits between its packets."""
    args = [
        "-p", str(herald.sip_port), "-u", user, "-d", str(wordlist), "-t", pace,
        "--domain", herald.domain, "--maximumtime", "5", herald.host,
    ]
    return subprocess.Popen(
        tool_command("svcrack", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"svcrack still running after {TOOL_TIMEOUT}s:\n{out}")
    return out


def test_svcrack_cracks_the_wordlist_when_the_lockout_is_out_of_reach(sipvicious_tools, tmp_path):
    """The control: svcrack works against Herald, so the lockout is what stops it below."""
    config = MD5_FIRST.replace("[auth]\n", "[auth]\nlockout_failures = 1000\n")
    with running_herald(config) as herald:
        add_users(herald)
        wordlist = tmp_path / "passwords.txt"
        wordlist.write_text("\n".join(WORDLIST) + "\n")
        out = finish(svcrack(herald, wordlist, "alice"))
        assert cracked(out) == ["alice"], out


def cracked(out: str) -> list[str]:
    """The users in svcrack's result table (| Extension | Password |)."""
    rows = re.findall(r"^\|\s*(\S+)\s*\|\s*(\S+)\s*\|$", out, re.MULTILINE)
    return [user for user, password in rows if user != "Extension"]


def test_svcrack_gets_nowhere_and_the_owner_still_registers(sipvicious_tools, tmp_path, request):
    with running_herald(MD5_FIRST) as herald:
        request.node.herald_server = herald
        add_users(herald)
        wordlist = tmp_path / "passwords.txt"
        wordlist.write_text("\n".join(WORDLIST) + "\n")
        assert WORDLIST.index(PASSWORD) == 24

        # Paced (20 ms between packets) so that the attack lasts a few seconds.
        attack = svcrack(herald, wordlist, "alice", pace="0.02")
        # During the attack alice keeps registering from her own address: (locked yet?,
        # status) for each of her REGISTERs while svcrack runs.
        during = []
        deadline = time.monotonic() + TOOL_TIMEOUT
        while attack.poll() is None and time.monotonic() < deadline:
            locked = any("locked out for this address" in l for l in herald.log_lines)
            during.append((locked, register_from(OWNER, herald, "alice", PASSWORD)))
            time.sleep(0.25)
        out = finish(attack)
        statuses = " ".join(str(status) for _, status in during)
        assert all(status == 200 for _, status in during), statuses
        while_locked = sum(1 for locked, _ in during if locked)
        print(f"alice's REGISTERs during the attack: {len(during)}, {while_locked} while locked")
        assert while_locked > 0, f"no REGISTER while the attacker was locked out: {during}"
        assert cracked(out) == [], out
        assert "found nothing" in out, out
        assert "unknown response" not in out, out  # every guess was answered (403)

        locks = [l for l in herald.log_lines if "locked out for this address" in l]
        assert len(locks) == 1, herald.log()
        assert "alice" in locks[0] and ATTACKER in locks[0], locks[0]

        # The right password from the attacker's address is refused like a wrong one,
        # while alice, elsewhere, still registers after the attack.
        assert register_from(ATTACKER, herald, "alice", PASSWORD) == 403
        assert register_from(OWNER, herald, "alice", PASSWORD) == 200
        assert herald.alive()


# --- No enumeration through the challenge or the answer time ---

ECHOED = {"via", "from", "to", "call-id", "cseq"}


def answer_time(client: SipClient, herald, user: str, password: str) -> tuple[float, int]:
    """Seconds from sending a digest REGISTER to its final answer, and the status."""
    aor = f"sip:{user}@{herald.domain}"
    headers = [f"From: <{aor}>;tag={client.from_tag}", f"To: <{aor}>"]
    ruri = f"sip:{herald.domain}"
    challenge = client.request("REGISTER", ruri, headers)
    assert challenge.status == 401, challenge.raw
    sha256 = next(
        parse_challenge(v)
        for v in challenge.all("www-authenticate")
        if parse_challenge(v).get("algorithm") == "SHA-256"
    )
    auth = digest_response(sha256, user, password, "REGISTER", ruri)
    started = time.perf_counter()
    resp = client.request("REGISTER", ruri, headers + [f"Authorization: {auth}"])
    return time.perf_counter() - started, resp.status


def challenge_shape(resp) -> list:
    """Header names and values, with what echoes the request and the nonce taken out."""
    shape = []
    for name, value in resp.headers:
        if name in ECHOED:
            value = None
        elif name in ("www-authenticate", "proxy-authenticate"):
            params = parse_challenge(value)
            params["nonce"] = "NONCE"
            value = sorted(params.items())
        shape.append((name, value))
    return shape


def test_known_and_unknown_users_get_the_same_challenge_and_answer_time(herald):
    add_users(herald)
    with SipClient("udp", herald.host, herald.sip_port) as client:
        shapes = {}
        for user in ("alice", "nobody"):
            resp = client.register(user, herald.domain, None, [f"sip:{user}@127.0.0.1:5999"])
            assert resp.status == 401, resp.raw
            shapes[user] = challenge_shape(resp)
        assert shapes["alice"] == shapes["nobody"]

        samples: dict[str, list[float]] = {"alice": [], "nobody": []}
        for _ in range(100):
            for user in ("alice", "nobody"):  # interleaved, so drift hits both alike
                elapsed, status = answer_time(client, herald, user, "wrong")
                assert status == 403
                samples[user].append(elapsed)
    known = statistics.median(samples["alice"])
    unknown = statistics.median(samples["nobody"])
    print(
        "median answer to a wrong password:"
        f" known {known * 1e6:.0f} us, unknown {unknown * 1e6:.0f} us"
    )
    # Equal work on loopback: the medians agree within a fifth (or 100 us of jitter).
    assert abs(known - unknown) <= max(0.2 * min(known, unknown), 100e-6), (known, unknown)
