//! Character classes and small scanners from the RFC 3261 grammar (§25.1), shared by
//! every parser in the crate. Everything here works on ASCII bytes so that slicing a
//! `&str` at the positions it returns always lands on a char boundary.

/// A 256-entry table, built at compile time, of the bytes for which `$class` (an
/// expression in `$b`) holds: the parsers test characters one byte at a time, and one
/// load per byte is cheaper than a chain of compares.
macro_rules! byte_table {
    (|$b:ident| $class:expr) => {{
        let mut table = [false; 256];
        let mut index = 0;
        while index < 256 {
            let $b = index as u8;
            table[index] = $class;
            index += 1;
        }
        table
    }};
}
pub(crate) use byte_table;

/// Lookup table for `token` characters: alphanum and `-.!%*_+`'~`.
static TOKEN_CHARS: [bool; 256] = byte_table!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
    ));

/// True for a `token` character.
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

/// True for a non-empty run of `token` characters.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token_char(b))
}

/// `s` split around the first `delimiter`, an ASCII byte (so both halves are on char
/// boundaries). The byte search is memchr's; `str::split_once` with a `char` pattern
/// decodes as it goes and was a visible share of URI parsing.
pub(crate) fn split_once_byte(s: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = memchr::memchr(delimiter, s.as_bytes())?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// SP or HT.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims SP/HT on both sides (header values have had their folding removed already).
pub(crate) fn trim_wsp(s: &str) -> &str {
    // Byte-wise: SP and HT are ASCII, so the cut points are char boundaries, and this
    // skips the char decoding of `str::trim_matches` (called for most header values).
    let bytes = s.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_wsp(b))
        .map_or(start, |last| last + 1);
    s.get(start..end).unwrap_or_default()
}

/// Given `s[start] == '"'`, the index just past the closing quote, honouring
/// `\`-escapes; `None` when the quote is never closed.
pub(crate) fn quoted_string_end(s: &[u8], start: usize) -> Option<usize> {
    let mut i = start.checked_add(1)?;
    loop {
        i += memchr::memchr2(b'"', b'\\', s.get(i..)?)?;
        match s.get(i) {
            Some(b'\\') => i += 2,
            _ => return Some(i + 1),
        }
    }
}

/// Removes the surrounding quotes' content escapes: `\x` becomes `x`. The input is
/// the text between the quotes.
pub(crate) fn unescape_quoted(inner: &str) -> std::borrow::Cow<'_, str> {
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes `s` as a quoted-string, escaping `"` and `\`.
pub(crate) fn write_quoted(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Index of the first `sep` that is neither inside a quoted string nor inside `<...>`.
/// Jumps between the bytes that matter with `memchr3` rather than walking every byte.
pub(crate) fn find_top_level(s: &[u8], sep: u8) -> Option<usize> {
    let mut i = 0;
    let mut angle_depth = 0usize;
    loop {
        let rest = s.get(i..)?;
        i += if angle_depth == 0 {
            memchr::memchr3(sep, b'"', b'<', rest)?
        } else {
            memchr::memchr3(b'>', b'"', b'<', rest)?
        };
        match s.get(i) {
            // An unterminated quote swallows the rest: nothing after it splits.
            Some(b'"') => {
                i = quoted_string_end(s, i)?;
                continue;
            }
            Some(b'<') => angle_depth += 1,
            Some(b'>') => angle_depth -= 1,
            _ => return Some(i),
        }
        i += 1;
    }
}

/// Splits on top-level `sep` (see [`find_top_level`]), yielding each element trimmed of
/// SP/HT, empty elements included (callers decide whether they are legal).
pub(crate) struct TopLevelSplit<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> TopLevelSplit<'a> {
    pub(crate) fn new(s: &'a str, sep: u8) -> Self {
        TopLevelSplit { rest: Some(s), sep }
    }
}

impl<'a> Iterator for TopLevelSplit<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match find_top_level(rest.as_bytes(), self.sep) {
            // `sep` is ASCII, so `at` and `at + 1` are char boundaries.
            Some(at) => {
                self.rest = rest.get(at + 1..);
                rest.get(..at).map(trim_wsp)
            }
            None => {
                self.rest = None;
                Some(trim_wsp(rest))
            }
        }
    }
}

/// Parses a non-empty run of ASCII digits into a `u64`, failing on anything else or on
/// overflow (values are bounded by the caller afterwards).
pub(crate) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeros are legal (`Max-Forwards: 0068`), so skip them before the
    // length check that keeps the accumulation below from overflowing.
    let bytes = s.as_bytes();
    let zeros = bytes.iter().take_while(|&&b| b == b'0').count();
    let significant = bytes.get(zeros..).unwrap_or_default();
    if significant.len() > 19 {
        return None;
    }
    significant.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Parses delta-seconds style numbers bounded to `u32` (RFC 4475 §3.1.2.4).
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    parse_digits(s).and_then(|n| u32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token(b"INVITE"));
        assert!(is_token(b"!interesting-Method0123456789_*+`.%indeed'~"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted_string_end(br#""abc" x"#, 0), Some(5));
        assert_eq!(quoted_string_end(br#""a\"b" x"#, 0), Some(6));
        assert_eq!(quoted_string_end(br#""abc"#, 0), None);
        assert_eq!(quoted_string_end(br#""abc\"#, 0), None);
        assert_eq!(unescape_quoted(r#"J Rosenberg \\\""#), r#"J Rosenberg \""#);
        let mut out = Vec::new();
        write_quoted(r#"a"b\c"#, &mut out);
        assert_eq!(out, br#""a\"b\\c""#);
    }

    #[test]
    fn top_level_split_respects_quotes_and_angles() {
        let parts: Vec<&str> =
            TopLevelSplit::new(r#""a,b" <sip:x,y@h>;p=1 , sip:z@h,,"#, b',').collect();
        assert_eq!(parts, vec![r#""a,b" <sip:x,y@h>;p=1"#, "sip:z@h", "", ""]);
        let parts: Vec<&str> = TopLevelSplit::new("single", b',').collect();
        assert_eq!(parts, vec!["single"]);
        assert_eq!(find_top_level(br#""unterminated, x"#, b','), None);
    }

    #[test]
    fn digits() {
        assert_eq!(parse_digits("0068"), Some(68));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32("36893488147419103232"), None);
        assert_eq!(parse_u32("00000000000000000000000000001"), Some(1));
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u32("1 "), None);
    }
}
