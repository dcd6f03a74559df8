#!/usr/bin/env python3
"""Writes 64 KiB inputs built to make a parser slow: long runs of every byte the
grammars give meaning to (for every fuzz target), and, for the targets named below,
documents with thousands of parameters, headers, elements, parts or table entries.
A parser that is linear reads each in milliseconds; tests/fuzz/smoke.sh runs every
target on them with a short timeout, so a quadratic one fails the test.

Usage: big_inputs.py OUT_DIR TARGET...   (writes OUT_DIR/TARGET/CASE)
"""
import os
import sys

# The largest SIP message and presence document Herald accepts (64 KiB - 1): one
# byte more and the parsers refuse the input before reading it.
SIZE = 65_535

# Bytes that open, close, quote, escape or separate something in SIP, XML, CPIM, SDP,
# multipart bodies, TOML, CSV or JSON.
GRAMMAR_BYTES = b'<>"\\,;:=%&?@[]{}()#/ \t\r\n-*+.\'!\x00\xff'


def fill(unit, prefix=b"", suffix=b"", size=SIZE):
    """`prefix`, then `unit` repeated, then `suffix`: `size` bytes in all."""
    room = max(0, size - len(prefix) - len(suffix))
    body = (unit * (room // len(unit) + 1))[:room]
    return prefix + body + suffix


def sip_request(lines):
    head = (b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            b"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n")
    return fill(lines, head, b"\r\nContent-Length: 0\r\n\r\n")


def options_with(header, unit, rest=b"\r\n"):
    head = (b"OPTIONS sip:h SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
            b"Call-ID: x\r\nCSeq: 1 OPTIONS\r\n" + header)
    return fill(unit, head, rest + b"\r\n")


SIP_MESSAGES = {
    "routes": sip_request(b"Route: <sip:h;lr>\r\n"),
    "route_list": sip_request(b"<sip:a;lr>,"),
    "quoted_pairs": sip_request(b'"a\\"'),
    "folds": sip_request(b"\r\n x"),
    "via_params": options_with(b"Via: SIP/2.0/UDP h", b";x"),
    "vias": options_with(b"Via: ", b"SIP/2.0/UDP h,", b"SIP/2.0/UDP h\r\n"),
    "contact_params": options_with(
        b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContact: <sip:a@h>", b';p="x"'),
    "auth_params": options_with(
        b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nAuthorization: Digest ", b"a=b,"),
    "uri_user": fill(b"a", b"OPTIONS sip:", b"@h SIP/2.0\r\n\r\n"),
    "no_blank_line": fill(b"X: y\r\n", b"OPTIONS sip:h SIP/2.0\r\n"),
}


def xml(root, namespace):
    start = b'<?xml version="1.0"?><' + root + b' xmlns="' + namespace + b'"'
    end = b"</" + root + b">"
    return {
        "nested": fill(b"<a>", start + b">"),
        "siblings": fill(b"<a/>", start + b">", end),
        "attributes": fill(b' a="b"', start, b"/>"),
        "namespaces": fill(b' xmlns:a="urn:x"', start, b"/>"),
        "prefixes": fill(b'<p:a xmlns:p="urn:p">', start + b">"),
        "entities": fill(b"&amp;", start + b"><note>", b"</note>" + end),
        "char_refs": fill(b"&#x41;", start + b"><note>", b"</note>" + end),
        "comments": fill(b"<!--x-->", start + b">", end),
        "cdata": fill(b"<![CDATA[x]]>", start + b">", end),
        "open_attribute": fill(b"x", start + b' a="'),
    }


RLMI_TYPE = b'multipart/related;type="application/rlmi+xml";boundary="b"\n'

STRUCTURED = {
    "parse_message": SIP_MESSAGES,
    "header_accessors": SIP_MESSAGES,
    "frame_stream": dict(SIP_MESSAGES, lengths=fill(
        b"Content-Length: 1\r\n", b"MESSAGE sip:a SIP/2.0\r\n")),
    "parse_uri": {
        "params": fill(b";a=b", b"sip:u@h"),
        "headers": fill(b"&a=b", b"sip:u@h?x=y"),
        "escapes": fill(b"%41", b"sip:"),
        "display": fill(b"a ", b"", b"<sip:a@b>"),
        "tel": fill(b"-1", b"tel:+"),
    },
    "parse_credentials": {
        "params": fill(b"a=b, ", b"Digest "),
        "quoted": fill(b'\\"', b'Digest username="', b'"'),
        "repeated": fill(b'realm="x",', b"Digest "),
    },
    "parse_pidf": xml(b"presence", b"urn:ietf:params:xml:ns:pidf"),
    "parse_watcherinfo": xml(b"watcherinfo", b"urn:ietf:params:xml:ns:watcherinfo"),
    "parse_rlmi": xml(b"list", b"urn:ietf:params:xml:ns:rlmi"),
    "parse_conference_info": xml(b"conference-info",
                                 b"urn:ietf:params:xml:ns:conference-info"),
    "parse_multipart": {
        "parts": fill(b"--b\r\nContent-ID: <x>\r\n\r\nx\r\n", RLMI_TYPE, b"--b--"),
        "near_boundaries": fill(b"\r\n--c", RLMI_TYPE + b"--b\r\n\r\n"),
        "part_headers": fill(b"X: y\r\n", RLMI_TYPE + b"--b\r\n"),
        "type_params": fill(b";a=b", b"multipart/related", b"\n--b--"),
    },
    "parse_cpim": {
        "headers": fill(b"NS: a <urn:x>\r\n", b"From: <sip:a@b>\r\n",
                        b"\r\nContent-Type: text/plain\r\n\r\nx"),
        "folds": fill(b"\r\n x", b"From: <sip:a@b>"),
        "mime_headers": fill(b"X: y\r\n", b"From: <sip:a@b>\r\n\r\n"),
    },
    "parse_sipfrag": {"reason": fill(b"a ", b"SIP/2.0 200 ")},
    "parse_replaces": {"params": fill(b";a=b", b"id@h"), "tags": fill(b";to-tag=1", b"x")},
    "parse_refer_to": {
        "escaped_replaces": fill(b"%3B", b"<sip:a@b?Replaces=", b">"),
        "uri_headers": fill(b"&", b"<sip:a@b?", b">"),
        "params": fill(b";a=b", b"<sip:a@b", b">"),
    },
    "parse_offer": {
        "streams": fill(b"m=audio 1 RTP/AVP 0\r\n",
                        b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n"),
        "formats": fill(b" 0", b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP"),
        "attributes": fill(b"a=x\r\n",
                           b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"),
    },
    "parse_settings": {
        "nested_arrays": fill(b"[", b"domains = "),
        "tables": fill(b"[a]\n"),
        "inline_tables": fill(b"{a=", b"x = "),
        "domains": fill(b'"a.b",', b"domains = [", b"]"),
        "listeners": fill(b'"udp:1.2.3.4:5",', b"listen = [", b"]"),
        "escapes": fill(b"\\u0041", b'log = "', b'"'),
        "dotted_key": fill(b"a.", b"", b"b = 1"),
    },
    "parse_users_csv": {
        "users": fill(b"a@b,pw,Name\n"),
        "long_field": fill(b"a", b"", b"@b,pw\n"),
        "escaped_quotes": fill(b'""', b'"', b'"'),
    },
    "parse_admin_command": {
        "nested": fill(b"[", b'{"op":"user_import","users":'),
        "escapes": fill(b"\\u0041", b'{"op":"user_list","x":"', b'"}'),
        "users": fill(b'{"username":"a","domain":"b","display_name":null,"ha1_md5":"0",'
                      b'"ha1_sha256":"0"},', b'{"op":"user_import","users":[',
                      b'{"username":"a","domain":"b","display_name":null,"ha1_md5":"0",'
                      b'"ha1_sha256":"0"}]}'),
    },
}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    for target in sys.argv[2:]:
        cases = {f"run_{b:02x}": bytes([b]) * SIZE for b in GRAMMAR_BYTES}
        cases.update(STRUCTURED.get(target, {}))
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in cases.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
