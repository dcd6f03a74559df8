//! `WWW-Authenticate` / `Proxy-Authenticate` challenge values (RFC 3261 §22.1, RFC 7616 §3.3).

use crate::Algorithm;
use crate::auth_params::byte_table;

/// A challenge header value:
/// `Digest realm="..", nonce="..", opaque="..", algorithm=SHA-256, qop="auth"[, stale=true]`.
///
/// Quotes and backslashes in the values are escaped. Control characters other than HT are
/// dropped: CR or LF cannot be escaped in a quoted-string and would split the header.
pub fn challenge(realm: &str, nonce: &str, opaque: &str, alg: Algorithm, stale: bool) -> String {
    let mut out = String::with_capacity(64 + realm.len() + nonce.len() + opaque.len());
    out.push_str("Digest realm=");
    push_quoted(&mut out, realm);
    out.push_str(", nonce=");
    push_quoted(&mut out, nonce);
    out.push_str(", opaque=");
    push_quoted(&mut out, opaque);
    out.push_str(", algorithm=");
    out.push_str(alg.as_str());
    out.push_str(", qop=\"auth\"");
    if stale {
        out.push_str(", stale=true");
    }
    out
}

/// The bytes that send [`push_quoted`] down the careful path, as a table: one load per
/// byte instead of a chain of compares (a challenge quotes about 100 bytes).
const NEEDS_CARE: [bool; 256] =
    byte_table!(|b| matches!(b, b'"' | b'\\' | 0x7f | 0xc2) || (b < 0x20 && b != b'\t'));

fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    // Nonces, opaques and realms almost never need escaping: copied whole then. The
    // test is byte-wise and errs on the safe side: C1 controls (U+0080..U+009F) all
    // begin with the byte 0xC2, so any 0xC2 takes the careful path.
    if !value.bytes().any(|b| NEEDS_CARE[usize::from(b)]) {
        out.push_str(value);
        out.push('"');
        return;
    }
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_format() {
        assert_eq!(
            challenge("example.com", "abc", "op", Algorithm::Sha256, false),
            r#"Digest realm="example.com", nonce="abc", opaque="op", algorithm=SHA-256, qop="auth""#
        );
        assert_eq!(
            challenge("example.com", "abc", "op", Algorithm::Md5, true),
            r#"Digest realm="example.com", nonce="abc", opaque="op", algorithm=MD5, qop="auth", stale=true"#
        );
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(
            challenge(r#"a"b\c"#, "n", "o", Algorithm::Md5, false),
            r#"Digest realm="a\"b\\c", nonce="n", opaque="o", algorithm=MD5, qop="auth""#
        );
    }

    #[test]
    fn c1_controls_are_dropped_and_other_text_kept() {
        let value = challenge(
            "caf\u{e9}\u{85}x",
            "\u{9f}n",
            "\u{7f}o",
            Algorithm::Md5,
            false,
        );
        assert_eq!(
            value,
            "Digest realm=\"caf\u{e9}x\", nonce=\"n\", opaque=\"o\", algorithm=MD5, qop=\"auth\""
        );
    }

    #[test]
    fn line_breaks_cannot_inject_headers() {
        let value = challenge("evil\r\nVia: x", "n\u{0}", "o\t", Algorithm::Md5, false);
        assert_eq!(
            value,
            "Digest realm=\"evilVia: x\", nonce=\"n\", opaque=\"o\t\", algorithm=MD5, qop=\"auth\""
        );
    }
}
