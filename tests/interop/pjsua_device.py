"""One SIP device (a PJSIP pjsua2 account) in its own process.

pjsua2 allows one Endpoint per process, so each simulated device is one run of this
script. It is driven through stdin, one JSON object per line:
    {"cmd": "register"}     (re)send REGISTER (setRegistration(True))
    {"cmd": "unregister"}   REGISTER with Expires: 0 (setRegistration(False))
    {"cmd": "quit"}
and reports on stdout, one JSON object per line:
    {"event": "ready", "local_port": N}
    {"event": "reg_state", "code": 200, "reason": "OK", "expiration": 300,
     "active": true, "response": "<the whole final response, raw>"}
    {"event": "error", "message": "..."}
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys

import pjsua2 as pj

TRANSPORTS = {
    "udp": pj.PJSIP_TRANSPORT_UDP,
    "tcp": pj.PJSIP_TRANSPORT_TCP,
    "tls": pj.PJSIP_TRANSPORT_TLS,
}


# PJSIP writes its own log lines to fd 1 before any log config applies: keep the
# real stdout for our JSON events only, and send everything else written to fd 1
# to stderr.
EVENTS = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


def emit(**event) -> None:
    EVENTS.write(json.dumps(event) + "\n")
    EVENTS.flush()


class Device(pj.Account):
    """An account whose registration outcomes are reported as JSON events."""

    def onRegState(self, prm):  # noqa: N802 (pjsua2 callback name)
        try:
            info = self.getInfo()
            active = bool(info.regIsActive)
        except pj.Error:
            active = False
        raw = ""
        try:
            raw = prm.rdata.wholeMsg
        except Exception:  # no received message (e.g. a local transport error)
            raw = ""
        emit(
            event="reg_state",
            code=prm.code,
            reason=prm.reason,
            expiration=prm.expiration,
            active=active,
            response=raw,
        )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--transport", choices=sorted(TRANSPORTS), required=True)
    p.add_argument("--server", required=True, help="host:port of the registrar")
    p.add_argument("--domain", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--device-id", default="", help="added to the Contact URI as ;device=ID")
    p.add_argument("--log-level", type=int, default=0)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    ep = pj.Endpoint()
    ep.libCreate()
    ep_cfg = pj.EpConfig()
    # Events are polled from this thread only: no PJSIP worker threads to race with.
    ep_cfg.uaConfig.threadCnt = 0
    ep_cfg.uaConfig.mainThreadOnly = True
    ep_cfg.logConfig.level = args.log_level
    ep_cfg.logConfig.consoleLevel = args.log_level
    ep_cfg.medConfig.noVad = True
    ep.libInit(ep_cfg)
    ep.audDevManager().setNullDev()

    tp_cfg = pj.TransportConfig()
    tp_cfg.port = 0
    tp_cfg.boundAddress = "127.0.0.1"
    if args.transport == "tls":
        tp_cfg.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
        tp_cfg.tlsConfig.verifyServer = False
        tp_cfg.tlsConfig.verifyClient = False
    tp_id = ep.transportCreate(TRANSPORTS[args.transport], tp_cfg)
    ep.libStart()
    local_port = ep.transportGetInfo(tp_id).localName.split(":")[-1]

    acc_cfg = pj.AccountConfig()
    acc_cfg.idUri = f"sip:{args.user}@{args.domain}"
    acc_cfg.regConfig.registrarUri = f"sip:{args.server};transport={args.transport}"
    acc_cfg.regConfig.timeoutSec = args.expires
    acc_cfg.regConfig.registerOnAdd = False
    acc_cfg.regConfig.retryIntervalSec = 0
    acc_cfg.sipConfig.transportId = tp_id
    if args.device_id:
        acc_cfg.sipConfig.contactUriParams = f";device={args.device_id}"
    # Keep the Contact as given: no rewriting from Via received/rport, no SIP outbound.
    acc_cfg.natConfig.contactRewriteUse = 0
    acc_cfg.natConfig.viaRewriteUse = 0
    acc_cfg.natConfig.sipOutboundUse = 0
    acc_cfg.sipConfig.authCreds.append(
        pj.AuthCredInfo("digest", "*", args.user, 0, args.password)
    )
    device = Device()
    device.create(acc_cfg)
    emit(event="ready", local_port=int(local_port))

    stdin_fd = sys.stdin.fileno()
    pending = b""
    running = True
    while running:
        ep.libHandleEvents(20)
        readable, _, _ = select.select([stdin_fd], [], [], 0)
        if not readable:
            continue
        chunk = os.read(stdin_fd, 4096)
        if not chunk:
            break  # the test closed our stdin: quit
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                cmd = json.loads(line).get("cmd")
                if cmd == "register":
                    device.setRegistration(True)
                elif cmd == "unregister":
                    device.setRegistration(False)
                elif cmd == "quit":
                    running = False
                else:
                    emit(event="error", message=f"unknown command {cmd!r}")
            except pj.Error as e:
                emit(event="error", message=e.info())
            except ValueError as e:
                emit(event="error", message=f"bad command line {line!r}: {e}")
    # Let a pending un-REGISTER go out before the endpoint is destroyed.
    for _ in range(10):
        ep.libHandleEvents(20)
    device.shutdown()
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
