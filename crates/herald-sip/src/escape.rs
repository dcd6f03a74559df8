//! `%HH` escapes in URIs (RFC 3261 §19.1.2, RFC 2396 §2.4).
use std::borrow::Cow;

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte an escape starting at `s[i] == '%'` stands for, if it is well formed.
fn escape_at(s: &[u8], i: usize) -> Option<u8> {
    let hi = hex_value(*s.get(i + 1)?)?;
    let lo = hex_value(*s.get(i + 2)?)?;
    Some(hi << 4 | lo)
}

/// True when every `%` starts a well-formed `%HH` escape.
pub(crate) fn escapes_well_formed(s: &[u8]) -> bool {
    memchr::memchr_iter(b'%', s).all(|i| escape_at(s, i).is_some())
}

/// Decodes every well-formed `%HH`; a malformed `%` is kept as written.
pub(crate) fn unescape(s: &str) -> Cow<'_, [u8]> {
    let bytes = s.as_bytes();
    if memchr::memchr(b'%', bytes).is_none() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(decoded) = escape_at(bytes, i)
        {
            out.push(decoded);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

/// RFC 2396 `reserved` characters: escaped and unescaped forms of these are *not*
/// equivalent (RFC 3261 §19.1.4), and neither is `%` itself.
fn keeps_escape(b: u8) -> bool {
    matches!(
        b,
        b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',' | b'%'
    )
}

/// A canonical form for comparison: escapes of characters outside the reserved set
/// are decoded, the others are kept with upper-case hex, so that two spellings compare
/// equal exactly when RFC 3261 §19.1.4 says they are equivalent.
pub(crate) fn normalize(s: &str) -> Cow<'_, [u8]> {
    let bytes = s.as_bytes();
    if memchr::memchr(b'%', bytes).is_none() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(decoded) = escape_at(bytes, i)
        {
            if keeps_escape(decoded) {
                out.push(b'%');
                out.extend_from_slice(format!("{decoded:02X}").as_bytes());
            } else {
                out.push(decoded);
            }
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_escapes() {
        assert!(escapes_well_formed(b"null-%00-null"));
        assert!(escapes_well_formed(b"no-escapes"));
        assert!(!escapes_well_formed(b"bad%zz"));
        assert!(!escapes_well_formed(b"short%4"));
        assert!(!escapes_well_formed(b"end%"));
    }

    #[test]
    fn unescaping() {
        assert_eq!(&*unescape("%75se%72"), b"user");
        assert_eq!(&*unescape("null-%00-null"), b"null-\0-null");
        assert_eq!(&*unescape("100%"), b"100%");
        assert_eq!(&*unescape("I%20have%20spaces"), b"I have spaces");
    }

    #[test]
    fn normalization_keeps_reserved_escapes() {
        assert_eq!(&*normalize("cal%6Cer"), b"caller");
        assert_eq!(
            &*normalize("sips%3auser%40example.com"),
            b"sips%3Auser%40example.com"
        );
        assert_eq!(&*normalize("v%61lue%25%34%31"), b"value%2541");
        assert_eq!(&*normalize("value%2541"), b"value%2541");
        assert_ne!(normalize("a%3Bb"), normalize("a;b"));
    }
}
