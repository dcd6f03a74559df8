"""One SIP device (a PJSIP pjsua2 account) in its own process.

pjsua2 allows one Endpoint per process, so each simulated device is one run of this
script. It is driven through stdin, one JSON object per line:
    {"cmd": "register"}     (re)send REGISTER (setRegistration(True))
    {"cmd": "unregister"}   REGISTER with Expires: 0 (setRegistration(False))
    {"cmd": "message", "to": URI, "body": TEXT, "content_type": "text/plain"}
                            out-of-dialog MESSAGE (pager mode) through a pj.Buddy
    {"cmd": "typing", "to": URI, "typing": true}
                            RFC 3994 isComposing MESSAGE through a pj.Buddy
    {"cmd": "call", "to": URI, "call": NAME, "headers": {"Accept": "message/cpim"}}
                            INVITE with an audio offer (null sound device); NAME
                            labels the call in later commands and events; the
                            optional "headers" are added to the INVITE
    {"cmd": "answer", "call": NAME, "code": 200}
                            answer an incoming call (180, 200, 486, ...)
    {"cmd": "call_message", "call": NAME, "body": TEXT, "content_type": "text/plain"}
                            MESSAGE inside the call's dialog
    {"cmd": "call_request", "call": NAME, "method": "INFO", "body": TEXT,
     "content_type": "text/plain"}
                            any other in-dialog request (INFO, ...)
    {"cmd": "call_typing", "call": NAME, "typing": true}
                            RFC 3994 isComposing MESSAGE inside the call's dialog
    {"cmd": "reinvite", "call": NAME}
    {"cmd": "xfer", "call": NAME, "to": URI}
                            REFER in the call's dialog (Call.xfer): Refer-To URI
    {"cmd": "xfer_replaces", "call": NAME, "target": OTHER_NAME}
                            attended transfer (Call.xferReplaces): REFER in NAME's
                            dialog, Refer-To the other party of OTHER_NAME with
                            Replaces naming OTHER_NAME's dialog (and Require=replaces)
    {"cmd": "hangup", "call": NAME, "code": 603}   (BYE, CANCEL or a final answer)
    {"cmd": "subscribe", "to": URI}
                            presence SUBSCRIBE through a pj.Buddy (subscribePresence)
    {"cmd": "unsubscribe", "to": URI}
                            SUBSCRIBE with Expires: 0 for that buddy
    {"cmd": "publish", "status": "online"|"offline", "activity": "busy"|"away"|"unknown",
     "note": TEXT}          setOnlineStatus: our presence, PUBLISHed with --publish
    {"cmd": "close"}        die at once (SIGKILL): the kernel closes our sockets,
                            nothing is sent first (a device crashing or losing power)
    {"cmd": "quit"}
and reports on stdout, one JSON object per line:
    {"event": "ready", "local_port": N}
    {"event": "reg_state", "code": 200, "reason": "OK", "expiration": 300,
     "active": true, "response": "<the whole final response, raw>"}
    {"event": "im", "call": NAME|null, "from": URI, "to": URI, "contact": URI,
     "content_type": "text/plain", "body": TEXT, "date": "<Date header>"|null,
     "raw": "<the whole MESSAGE>"}
    {"event": "typing", "from": URI, "to": URI, "is_typing": true, "raw": "..."}
    {"event": "im_status", "call": NAME|null, "to": URI, "body": TEXT,
     "code": 200, "reason": "OK", "response": "<raw final response>"}
    {"event": "incoming_call", "call": NAME, "from": URI, "raw": "<the INVITE>"}
    {"event": "call_state", "call": NAME, "state": "CONFIRMED", "code": 200,
     "reason": "OK", "call_id": "...", "remote_uri": "sip:...",
     "remote_contact": "<sip:...>"|"", "rx": "<raw message that caused it>"}
                            remote_uri: the peer's From/To; remote_contact: its
                            Contact as PJSIP keeps it (the URI, parameters such
                            as ;isfocus dropped)
    {"event": "call_transfer_status", "call": NAME, "code": 100|200|..., "reason": "...",
     "final": false|true}
                            each NOTIFY of the REFER we sent in NAME's dialog (xfer)
    {"event": "call_replace_request", "call": NAME, "code": 200, "raw": "<the INVITE>"}
                            an INVITE with Replaces naming call NAME arrived (PJSIP
                            accepts it by itself: "code" is its answer)
    {"event": "call_replaced", "call": NAME, "new_call": NEW_NAME, "from": URI,
     "raw": "<the INVITE with Replaces>"|""}
                            call NAME is replaced by the incoming call NEW_NAME (named
                            like incoming calls, "inN"); PJSIP answers NEW_NAME 200 and
                            ends NAME itself
    {"event": "call_tsx", "call": NAME, "method": "INFO", "role": "uas"|"uac",
     "code": 200, "rx": "<raw request or response>"}
    {"event": "buddy_state", "uri": URI, "status": "online"|"offline"|"unknown",
     "status_text": "...", "activity": "busy"|"away"|"unknown", "note": TEXT,
     "sub_state": "ACTIVE", "term_code": 0, "term_reason": "...",
     "raw": "<the last NOTIFY received from URI>"|""}
                            whenever PJSIP reports the buddy changed (each NOTIFY,
                            and each change of the subscription state)
    {"event": "publish_status", "code": 200, "reason": "OK", "response": "<raw>"}
                            every final response to one of our PUBLISHes
    {"event": "error", "message": "..."}
Incoming calls are answered 180 at once, then left ringing until "answer"; an
incoming INVITE with Replaces (RFC 3891) is not reported as incoming_call but as
call_replace_request + call_replaced, and answered 200 by PJSIP itself.
Without --server the account registers nowhere and sends requests straight to the
URI it is given (device-to-device, e.g. sip:bob@127.0.0.1:PORT;transport=tcp).
With --publish the account PUBLISHes its presence (presConfig.publishEnabled): once at
registration (online), after each "publish" command, and an Expires: 0 PUBLISH on
"unregister" (before the un-REGISTER).
pjsua2 hands neither NOTIFY bodies nor PUBLISH answers to the application, so both are
read from PJSIP's own message log (a pj.LogWriter at level 4).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import select
import signal
import sys

import pjsua2 as pj

TRANSPORTS = {
    "udp": pj.PJSIP_TRANSPORT_UDP,
    "tcp": pj.PJSIP_TRANSPORT_TCP,
    "tls": pj.PJSIP_TRANSPORT_TLS,
}

PRESENCE_STATUS = {
    "online": pj.PJSUA_BUDDY_STATUS_ONLINE,
    "offline": pj.PJSUA_BUDDY_STATUS_OFFLINE,
}
STATUS_NAMES = {
    pj.PJSUA_BUDDY_STATUS_ONLINE: "online",
    pj.PJSUA_BUDDY_STATUS_OFFLINE: "offline",
    pj.PJSUA_BUDDY_STATUS_UNKNOWN: "unknown",
}
ACTIVITIES = {
    "busy": pj.PJRPID_ACTIVITY_BUSY,
    "away": pj.PJRPID_ACTIVITY_AWAY,
    "unknown": pj.PJRPID_ACTIVITY_UNKNOWN,
}
ACTIVITY_NAMES = {number: name for name, number in ACTIVITIES.items()}

# Set by main(): the real stdout, kept for our JSON events only.
EVENTS = None


def emit(**event) -> None:
    assert EVENTS is not None
    EVENTS.write(json.dumps(event) + "\n")
    EVENTS.flush()


def raw_of(rdata) -> str:
    """The whole received message of an rdata wrapper, or "" when there is none."""
    try:
        return rdata.wholeMsg or ""
    except Exception:  # no received message behind it (a local event)
        return ""


def header_value(raw: str, name: str) -> str | None:
    """The first value of header `name` in a raw message (head only), or None."""
    head = raw.replace("\r\n", "\n").split("\n\n", 1)[0]
    m = re.search(rf"^{re.escape(name)}[ \t]*:[ \t]*(.*)$", head, re.IGNORECASE | re.MULTILINE)
    return m.group(1).strip() if m else None


def aor_of(uri: str) -> str:
    """user@host of a SIP URI or name-addr (scheme, port and parameters dropped),
    lower-cased: how a buddy's URI and a NOTIFY's From are matched."""
    inner = re.search(r"<([^>]*)>", uri)
    uri = inner.group(1) if inner else uri
    uri = re.sub(r"^sips?:", "", uri.strip(), flags=re.IGNORECASE)
    uri = re.split(r"[;?>]", uri, maxsplit=1)[0]
    user, at, host = uri.rpartition("@")
    host = host.split(":", 1)[0]
    return f"{user}{at}{host}".lower()


class MessageLog(pj.LogWriter):
    """PJSIP's log, read for the messages it received: NOTIFYs are kept per notifier
    (for buddy_state's raw) and answers to our PUBLISHes are reported. Log lines up
    to `console_level` still go to stderr."""

    RECEIVED = re.compile(r"RX \d+ bytes .*? from \S+ [^\n]*:\n(.*)\n--end msg--", re.DOTALL)

    def __init__(self, console_level: int):
        super().__init__()
        self.console_level = console_level
        self.last_notify: dict[str, str] = {}

    def write(self, entry):  # noqa: D401 (pjsua2 callback name)
        msg = entry.msg
        if entry.level <= self.console_level:
            sys.stderr.write(msg if msg.endswith("\n") else msg + "\n")
        m = self.RECEIVED.search(msg)
        if m:
            try:
                self.received(m.group(1))
            except Exception as e:  # a log line must never take the device down
                emit(event="error", message=f"message log: {e!r}")

    def received(self, raw: str) -> None:
        first = raw.split("\r\n", 1)[0]
        cseq = header_value(raw, "CSeq") or ""
        if first.startswith("NOTIFY "):
            notifier = header_value(raw, "From") or header_value(raw, "f") or ""
            self.last_notify[aor_of(notifier)] = raw
        elif first.startswith("SIP/2.0 ") and cseq.upper().endswith("PUBLISH"):
            parts = first.split(" ", 2)
            code = int(parts[1])
            if code >= 200:
                emit(
                    event="publish_status",
                    code=code,
                    reason=parts[2] if len(parts) > 2 else "",
                    response=raw,
                )


# Set by main(): the device's message log.
MESSAGE_LOG: MessageLog | None = None


class DeviceBuddy(pj.Buddy):
    """A buddy: the target of pager MESSAGEs, and a presentity once subscribed to."""

    def __init__(self, uri: str):
        super().__init__()
        self.uri = uri

    def onBuddyState(self):  # noqa: N802 (pjsua2 callback name)
        try:
            info = self.getInfo()
        except pj.Error as e:
            emit(event="error", message=f"buddy {self.uri}: {e.info()}")
            return
        pres = info.presStatus
        raw = MESSAGE_LOG.last_notify.get(aor_of(self.uri), "") if MESSAGE_LOG else ""
        emit(
            event="buddy_state",
            uri=self.uri,
            status=STATUS_NAMES.get(pres.status, str(pres.status)),
            status_text=pres.statusText,
            activity=ACTIVITY_NAMES.get(pres.activity, str(pres.activity)),
            note=pres.note,
            sub_state=info.subStateName,
            term_code=info.subTermCode,
            term_reason=info.subTermReason,
            raw=raw,
        )


class DeviceCall(pj.Call):
    """One call, named for the test; reports its state changes and transactions."""

    def __init__(self, account: Device, name: str, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(account, call_id)
        self.account = account
        self.name = name
        self.confirmed = False
        # The INVITE with Replaces naming this call, once one came.
        self.replace_request = ""

    def onCallState(self, prm):  # noqa: N802 (pjsua2 callback name)
        try:
            info = self.getInfo()
        except pj.Error as e:
            emit(event="error", message=f"call {self.name}: {e.info()}")
            return
        rx = ""
        if prm.e.type == pj.PJSIP_EVENT_TSX_STATE:
            rx = raw_of(prm.e.body.tsxState.src.rdata)
        elif prm.e.type == pj.PJSIP_EVENT_RX_MSG:
            rx = raw_of(prm.e.body.rxMsg.rdata)
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed = True
        emit(
            event="call_state",
            call=self.name,
            state=info.stateText,
            code=info.lastStatusCode,
            reason=info.lastReason,
            call_id=info.callIdString,
            remote_uri=info.remoteUri,
            remote_contact=info.remoteContact,
            rx=rx,
        )

    def onCallTsxState(self, prm):  # noqa: N802
        if prm.e.type != pj.PJSIP_EVENT_TSX_STATE:
            return
        tsx_event = prm.e.body.tsxState
        tsx = tsx_event.tsx
        if tsx.method in ("INVITE", "ACK") and not self.confirmed:
            return  # the initial INVITE is reported through onCallState
        rx = ""
        if tsx_event.type == pj.PJSIP_EVENT_RX_MSG:
            rx = raw_of(tsx_event.src.rdata)
        if not rx:
            return  # only what we received is of interest
        emit(
            event="call_tsx",
            call=self.name,
            method=tsx.method,
            role="uas" if tsx.role == pj.PJSIP_ROLE_UAS else "uac",
            code=tsx.statusCode,
            rx=rx,
        )

    def onCallTransferStatus(self, prm):  # noqa: N802
        emit(
            event="call_transfer_status",
            call=self.name,
            code=prm.statusCode,
            reason=prm.reason,
            final=bool(prm.finalNotify),
        )
        prm.cont = True  # keep reporting until the final NOTIFY

    def onCallReplaceRequest(self, prm):  # noqa: N802
        # The new Call object is made in onCallReplaced, once its call id is known.
        self.replace_request = raw_of(prm.rdata)
        emit(
            event="call_replace_request",
            call=self.name,
            code=prm.statusCode,
            raw=self.replace_request,
        )

    def onCallReplaced(self, prm):  # noqa: N802
        new = self.account.incoming_call_object(prm.newCallId)
        prm.newCall = new
        try:
            remote = new.getInfo().remoteUri
        except pj.Error:
            remote = ""
        emit(
            event="call_replaced",
            call=self.name,
            new_call=new.name,
            **{"from": remote},
            raw=self.replace_request,
        )

    def onInstantMessage(self, prm):  # noqa: N802
        report_im(prm, self.name)

    def onInstantMessageStatus(self, prm):  # noqa: N802
        report_im_status(prm, self.name)

    def onTypingIndication(self, prm):  # noqa: N802
        report_typing(prm, self.name)


def report_im(prm, call: str | None) -> None:
    raw = raw_of(prm.rdata)
    emit(
        event="im",
        call=call,
        **{"from": prm.fromUri},
        to=prm.toUri,
        contact=prm.contactUri,
        content_type=prm.contentType,
        body=prm.msgBody,
        date=header_value(raw, "Date"),
        raw=raw,
    )


def report_im_status(prm, call: str | None) -> None:
    emit(
        event="im_status",
        call=call,
        to=prm.toUri,
        body=prm.msgBody,
        code=prm.code,
        reason=prm.reason,
        response=raw_of(prm.rdata),
    )


def report_typing(prm, call: str | None) -> None:
    emit(
        event="typing",
        call=call,
        **{"from": prm.fromUri},
        to=prm.toUri,
        is_typing=bool(prm.isTyping),
        raw=raw_of(prm.rdata),
    )


class Device(pj.Account):
    """An account whose registration, messages and calls are reported as JSON events."""

    def __init__(self):
        super().__init__()
        self.calls: dict[str, DeviceCall] = {}
        self.buddies: dict[str, pj.Buddy] = {}
        self.incoming = 0

    def onRegState(self, prm):  # noqa: N802 (pjsua2 callback name)
        try:
            info = self.getInfo()
            active = bool(info.regIsActive)
        except pj.Error:
            active = False
        emit(
            event="reg_state",
            code=prm.code,
            reason=prm.reason,
            expiration=prm.expiration,
            active=active,
            response=raw_of(prm.rdata),
        )

    def onInstantMessage(self, prm):  # noqa: N802
        report_im(prm, None)

    def onInstantMessageStatus(self, prm):  # noqa: N802
        report_im_status(prm, None)

    def onTypingIndication(self, prm):  # noqa: N802
        report_typing(prm, None)

    def incoming_call_object(self, call_id: int) -> DeviceCall:
        """A named Call object for an incoming call (a new one, or one that replaces
        a call of ours): "in1", "in2", ... in arrival order; kept in self.calls so
        Python does not collect it while PJSIP calls back into it."""
        self.incoming += 1
        name = f"in{self.incoming}"
        call = DeviceCall(self, name, call_id)
        self.calls[name] = call
        return call

    def onIncomingCall(self, prm):  # noqa: N802
        call = self.incoming_call_object(prm.callId)
        name = call.name
        emit(event="incoming_call", call=name, **{"from": call.getInfo().remoteUri}, raw=raw_of(prm.rdata))
        ringing = pj.CallOpParam()
        ringing.statusCode = 180
        call.answer(ringing)

    def buddy(self, uri: str) -> pj.Buddy:
        """The buddy for `uri`, created without a presence subscription: pjsua2's way
        to send pager MESSAGEs, and to subscribe to presence ("subscribe")."""
        if uri not in self.buddies:
            cfg = pj.BuddyConfig()
            cfg.uri = uri
            cfg.subscribe = False
            buddy = DeviceBuddy(uri)
            buddy.create(self, cfg)
            self.buddies[uri] = buddy
        return self.buddies[uri]

    def call(self, name: str) -> DeviceCall:
        if name not in self.calls:
            raise KeyError(f"no call named {name!r}")
        return self.calls[name]

    def run(self, cmd: dict) -> bool:
        """Carry out one command; False when it was "quit"."""
        what = cmd.get("cmd")
        if what == "register":
            self.setRegistration(True)
        elif what == "unregister":
            self.setRegistration(False)
        elif what == "message":
            prm = pj.SendInstantMessageParam()
            prm.content = cmd["body"]
            prm.contentType = cmd.get("content_type", "text/plain")
            self.buddy(cmd["to"]).sendInstantMessage(prm)
        elif what == "typing":
            prm = pj.SendTypingIndicationParam()
            prm.isTyping = bool(cmd.get("typing", True))
            self.buddy(cmd["to"]).sendTypingIndication(prm)
        elif what == "call":
            name = cmd["call"]
            call = DeviceCall(self, name)
            self.calls[name] = call
            prm = pj.CallOpParam(True)
            prm.opt.audioCount = 1
            prm.opt.videoCount = 0
            for hname, hvalue in cmd.get("headers", {}).items():
                header = pj.SipHeader()
                header.hName = hname
                header.hValue = hvalue
                prm.txOption.headers.append(header)
            call.makeCall(cmd["to"], prm)
        elif what == "answer":
            prm = pj.CallOpParam()
            prm.statusCode = int(cmd.get("code", 200))
            self.call(cmd["call"]).answer(prm)
        elif what == "call_message":
            prm = pj.SendInstantMessageParam()
            prm.content = cmd["body"]
            prm.contentType = cmd.get("content_type", "text/plain")
            self.call(cmd["call"]).sendInstantMessage(prm)
        elif what == "call_request":
            prm = pj.CallSendRequestParam()
            prm.method = cmd["method"]
            if "body" in cmd:
                prm.txOption.contentType = cmd.get("content_type", "text/plain")
                prm.txOption.msgBody = cmd["body"]
            self.call(cmd["call"]).sendRequest(prm)
        elif what == "call_typing":
            prm = pj.SendTypingIndicationParam()
            prm.isTyping = bool(cmd.get("typing", True))
            self.call(cmd["call"]).sendTypingIndication(prm)
        elif what == "xfer":
            self.call(cmd["call"]).xfer(cmd["to"], pj.CallOpParam(True))
        elif what == "xfer_replaces":
            target = self.call(cmd["target"])
            self.call(cmd["call"]).xferReplaces(target, pj.CallOpParam(True))
        elif what == "reinvite":
            prm = pj.CallOpParam(True)
            self.call(cmd["call"]).reinvite(prm)
        elif what == "hangup":
            prm = pj.CallOpParam()
            prm.statusCode = int(cmd.get("code", 603))
            self.call(cmd["call"]).hangup(prm)
        elif what == "subscribe":
            self.buddy(cmd["to"]).subscribePresence(True)
        elif what == "unsubscribe":
            self.buddy(cmd["to"]).subscribePresence(False)
        elif what == "publish":
            status = pj.PresenceStatus()
            status.status = PRESENCE_STATUS[cmd.get("status", "online")]
            status.activity = ACTIVITIES[cmd.get("activity", "unknown")]
            status.note = cmd.get("note", "")
            self.setOnlineStatus(status)
        elif what == "close":
            os.kill(os.getpid(), signal.SIGKILL)
        elif what == "quit":
            return False
        else:
            emit(event="error", message=f"unknown command {what!r}")
        return True


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transport", choices=sorted(TRANSPORTS), required=True)
    p.add_argument(
        "--server",
        default="",
        help="host:port of the registrar, also the outbound proxy; none: direct",
    )
    p.add_argument("--domain", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--device-id", default="", help="added to the Contact URI as ;device=ID")
    p.add_argument("--publish", action="store_true", help="PUBLISH our presence")
    p.add_argument("--log-level", type=int, default=0)
    return p.parse_args()


def main() -> int:
    global EVENTS, MESSAGE_LOG
    # PJSIP writes its own log lines to fd 1 before any log config applies: keep the
    # real stdout for our JSON events only, and send everything else written to fd 1
    # to stderr.
    EVENTS = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    args = parse_args()
    ep = pj.Endpoint()
    ep.libCreate()
    ep_cfg = pj.EpConfig()
    # Events are polled from this thread only: no PJSIP worker threads to race with.
    ep_cfg.uaConfig.threadCnt = 0
    ep_cfg.uaConfig.mainThreadOnly = True
    # Level 4 carries the messages received (MessageLog); the console still gets
    # only what --log-level asks for, through the writer.
    MESSAGE_LOG = MessageLog(args.log_level)
    ep_cfg.logConfig.level = max(4, args.log_level)
    ep_cfg.logConfig.consoleLevel = max(4, args.log_level)
    ep_cfg.logConfig.msgLogging = True
    ep_cfg.logConfig.writer = MESSAGE_LOG
    ep_cfg.medConfig.noVad = True
    ep_cfg.medConfig.threadCnt = 0
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
    if args.server:
        acc_cfg.regConfig.registrarUri = f"sip:{args.server};transport={args.transport}"
        # Requests to sip:x@DOMAIN go through the server (DOMAIN does not resolve).
        acc_cfg.sipConfig.proxies.append(f"sip:{args.server};transport={args.transport};lr")
    acc_cfg.regConfig.timeoutSec = args.expires
    acc_cfg.regConfig.registerOnAdd = False
    acc_cfg.regConfig.retryIntervalSec = 0
    acc_cfg.sipConfig.transportId = tp_id
    acc_cfg.presConfig.publishEnabled = args.publish
    if args.device_id:
        acc_cfg.sipConfig.contactUriParams = f";device={args.device_id}"
    # Keep the Contact as given: no rewriting from Via received/rport, no SIP outbound.
    acc_cfg.natConfig.contactRewriteUse = 0
    acc_cfg.natConfig.viaRewriteUse = 0
    acc_cfg.natConfig.sipOutboundUse = 0
    # RTP on loopback too, on ports of the kernel's choosing (many devices at once).
    acc_cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acc_cfg.mediaConfig.transportConfig.port = 0
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
        while running and b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                running = device.run(json.loads(line))
            except pj.Error as e:
                emit(event="error", message=e.info())
            except (ValueError, KeyError, TypeError) as e:
                emit(event="error", message=f"bad command line {line!r}: {e}")
    # Let a pending un-REGISTER (and BYEs) go out before the endpoint is destroyed.
    ep.hangupAllCalls()
    for _ in range(10):
        ep.libHandleEvents(20)
    # pjsua2 objects must go while the library lives: a Call's destructor calls into it.
    device.calls.clear()
    device.buddies.clear()
    gc.collect()
    device.shutdown()
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
