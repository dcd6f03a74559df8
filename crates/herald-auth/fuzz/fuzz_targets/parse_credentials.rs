//! Fuzzes `parse_credentials`: it must never panic, whatever it accepts must satisfy the
//! documented invariants, and re-serialising accepted credentials must parse back to the
//! same value (so quoting, escaping and LWS handling agree with each other).

#![no_main]

use herald_auth::{Credentials, parse_credentials, verify_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(credentials) = parse_credentials(value) else {
        return;
    };
    check_invariants(&credentials);
    let reserialised = serialise(&credentials);
    match parse_credentials(&reserialised) {
        Ok(again) => assert_eq!(again, credentials, "round trip of {reserialised:?}"),
        Err(err) => panic!("{reserialised:?} (from {value:?}) no longer parses: {err}"),
    }
    // Must not panic on any accepted input, whatever HA1 it is given.
    let _ = verify_response(&credentials, &credentials.response, "REGISTER");
    let _ = verify_response(&credentials, "", "REGISTER");
});

fn check_invariants(c: &Credentials) {
    let hex_len = match c.algorithm {
        herald_auth::Algorithm::Md5 => 32,
        herald_auth::Algorithm::Sha256 => 64,
    };
    assert_eq!(c.response.len(), hex_len);
    assert!(c.response.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(qop) = &c.qop {
        assert!(qop.eq_ignore_ascii_case("auth"));
        assert!(c.nc.is_some() && c.cnonce.is_some());
    } else {
        assert!(c.nc.is_none() && c.cnonce.is_none());
    }
}

fn serialise(c: &Credentials) -> String {
    let mut out = String::from("Digest ");
    push_param(&mut out, "username", &c.username);
    push_param(&mut out, "realm", &c.realm);
    push_param(&mut out, "nonce", &c.nonce);
    push_param(&mut out, "uri", &c.uri);
    push_param(&mut out, "response", &c.response);
    push_param(&mut out, "algorithm", c.algorithm.as_str());
    if let Some(cnonce) = &c.cnonce {
        push_param(&mut out, "cnonce", cnonce);
    }
    if let Some(qop) = &c.qop {
        push_param(&mut out, "qop", qop);
    }
    if let Some(nc) = c.nc {
        out.push_str(&format!(", nc={nc:08x}"));
    }
    if let Some(opaque) = &c.opaque {
        push_param(&mut out, "opaque", opaque);
    }
    if c.userhash {
        out.push_str(", userhash=true");
    }
    out
}

fn push_param(out: &mut String, name: &str, value: &str) {
    if !out.ends_with(' ') {
        out.push_str(", ");
    }
    out.push_str(name);
    out.push_str("=\"");
    for ch in value.chars() {
        if ch == '"' || ch == '\\' || ch.is_ascii_control() {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}
