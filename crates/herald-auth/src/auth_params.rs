//! Lexer for the `scheme name=value, name="value", ...` form of credentials
//! (RFC 3261 §25.1 `digest-response`, RFC 7235 §2.1 `auth-param`).
//!
//! It only splits and unquotes; what the names mean is decided by the caller.

use std::borrow::Cow;

/// One `name=value` pair. `value` is unquoted and unescaped when it was a quoted-string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AuthParam<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// Splits the leading auth-scheme token off a header value.
///
/// Returns the scheme and the (LWS-trimmed) rest. The scheme must be followed by LWS or
/// end the value, so `Digest=x` is not read as the scheme `Digest`.
pub(crate) fn split_scheme(value: &str) -> Result<(&str, &str), &'static str> {
    let value = skip_lws(value);
    let scheme_len = token_len(value);
    if scheme_len == 0 {
        return Err(if value.is_empty() {
            "missing auth scheme"
        } else {
            "auth scheme is not a token"
        });
    }
    let (scheme, rest) = value.split_at(scheme_len);
    let after = skip_lws(rest);
    if after.len() == rest.len() && !rest.is_empty() {
        return Err("auth scheme not followed by whitespace");
    }
    Ok((scheme, after))
}

/// Iterates the comma-separated `name=value` list that follows the scheme.
///
/// Empty list elements (`a=1, , b=2`) are skipped, as RFC 7230 §7 asks of recipients.
pub(crate) struct AuthParams<'a> {
    rest: &'a str,
    failed: bool,
}

impl<'a> AuthParams<'a> {
    pub(crate) fn new(list: &'a str) -> Self {
        AuthParams {
            rest: list,
            failed: false,
        }
    }

    fn next_param(&mut self) -> Result<Option<AuthParam<'a>>, &'static str> {
        let mut rest = skip_lws(self.rest);
        while let Some(after_comma) = rest.strip_prefix(',') {
            rest = skip_lws(after_comma);
        }
        if rest.is_empty() {
            self.rest = rest;
            return Ok(None);
        }

        let name_len = token_len(rest);
        if name_len == 0 {
            return Err("parameter name is not a token");
        }
        let (name, after_name) = rest.split_at(name_len);
        let after_equal = skip_lws(after_name)
            .strip_prefix('=')
            .ok_or("parameter without '='")?;
        let value_start = skip_lws(after_equal);
        let (value, after_value) = if let Some(quoted) = value_start.strip_prefix('"') {
            read_quoted_rest(quoted)?
        } else {
            let value_len = token_len(value_start);
            if value_len == 0 {
                return Err("parameter value is neither a token nor a quoted-string");
            }
            let (token, after) = value_start.split_at(value_len);
            (Cow::Borrowed(token), after)
        };

        let after_value = skip_lws(after_value);
        self.rest = match after_value.strip_prefix(',') {
            Some(next) => next,
            None if after_value.is_empty() => after_value,
            None => return Err("expected ',' between parameters"),
        };
        Ok(Some(AuthParam { name, value }))
    }
}

impl<'a> Iterator for AuthParams<'a> {
    type Item = Result<AuthParam<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_param().transpose();
        if matches!(item, Some(Err(_))) {
            // After a syntax error the position is meaningless; stop rather than resync.
            self.failed = true;
        }
        item
    }
}

/// Reads a quoted-string whose opening quote is already consumed. Returns the unescaped
/// content and what follows the closing quote.
///
/// Raw CR/LF are refused: header folding is undone before a value reaches this crate, and
/// a line break left inside a quoted value would otherwise change what gets hashed.
fn read_quoted_rest(s: &str) -> Result<(Cow<'_, str>, &str), &'static str> {
    // Almost every value (nonce, response, uri, username) has no escape: find its closing
    // quote byte-wise. The bytes looked for are ASCII, so where one is found is a char
    // boundary; an escape or a control character first takes the char-wise path below.
    let stop = s.bytes().position(|b| ENDS_PLAIN_QUOTED[usize::from(b)]);
    if let Some(end) = stop
        && s.as_bytes().get(end) == Some(&b'"')
        && let (Some(content), Some(rest)) = (s.get(..end), s.get(end + 1..))
    {
        return Ok((Cow::Borrowed(content), rest));
    }
    let mut unescaped: Option<String> = None;
    let mut chars = s.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => {
                let content = match unescaped {
                    Some(owned) => Cow::Owned(owned),
                    None => Cow::Borrowed(&s[..index]),
                };
                return Ok((content, &s[index + 1..]));
            }
            '\\' => {
                let (_, escaped) = chars.next().ok_or("unterminated quoted-string")?;
                if escaped == '\r' || escaped == '\n' {
                    return Err("line break in quoted-string");
                }
                unescaped
                    .get_or_insert_with(|| s[..index].to_owned())
                    .push(escaped);
            }
            '\r' | '\n' => return Err("line break in quoted-string"),
            c if c.is_ascii_control() && c != '\t' => {
                return Err("control character in quoted-string");
            }
            c => {
                if let Some(owned) = unescaped.as_mut() {
                    owned.push(c);
                }
            }
        }
    }
    Err("unterminated quoted-string")
}

/// Skips linear white space: SP, HT, and a line break only when folded (followed by SP/HT).
pub(crate) fn skip_lws(mut s: &str) -> &str {
    loop {
        // Byte-wise: SP and HT are ASCII, so the cut is a char boundary.
        let blanks = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
        s = s.get(blanks..).unwrap_or_default();
        let after_break = s
            .strip_prefix("\r\n")
            .or_else(|| s.strip_prefix('\n'))
            .filter(|after| after.starts_with([' ', '\t']));
        match after_break {
            Some(after) => s = after,
            None => return s,
        }
    }
}

/// Length of the RFC 3261 `token` at the start of `s`.
fn token_len(s: &str) -> usize {
    s.bytes().take_while(|&b| is_token_byte(b)).count()
}

fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// A 256-entry table of the bytes for which `$class` (an expression in `$b`) holds,
/// built at compile time.
macro_rules! byte_table {
    (|$b:ident| $class:expr) => {{
        let mut table = [false; 256];
        let mut byte = 0;
        while byte < 256 {
            let $b = byte as u8;
            table[byte] = $class;
            byte += 1;
        }
        table
    }};
}
pub(crate) use byte_table;

/// Byte classes as tables: credentials are a few hundred bytes scanned byte by byte,
/// and one load per byte beats a chain of compares.
const TOKEN: [bool; 256] = byte_table!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
    ));

/// Where the plain (no escape) reading of a quoted-string stops: the closing quote, an
/// escape, or a forbidden control character.
const ENDS_PLAIN_QUOTED: [bool; 256] =
    byte_table!(|b| b == b'"' || b == b'\\' || (b.is_ascii_control() && b != b'\t'));

#[cfg(test)]
mod tests {
    use super::*;

    fn params(list: &str) -> Result<Vec<(String, String)>, &'static str> {
        AuthParams::new(list)
            .map(|p| p.map(|p| (p.name.to_owned(), p.value.into_owned())))
            .collect()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn split_scheme_separates_scheme_and_trims() {
        assert_eq!(split_scheme("  Digest  a=b"), Ok(("Digest", "a=b")));
        assert_eq!(split_scheme("Digest"), Ok(("Digest", "")));
        assert_eq!(split_scheme("Digest\r\n a=b"), Ok(("Digest", "a=b")));
        assert_eq!(
            split_scheme("Basic QWxhZGRpbg=="),
            Ok(("Basic", "QWxhZGRpbg=="))
        );
    }

    #[test]
    fn split_scheme_rejects_missing_or_glued_scheme() {
        assert_eq!(split_scheme(""), Err("missing auth scheme"));
        assert_eq!(split_scheme("   "), Err("missing auth scheme"));
        assert_eq!(
            split_scheme("\"Digest\" a=b"),
            Err("auth scheme is not a token")
        );
        assert_eq!(
            split_scheme("Digest=a"),
            Err("auth scheme not followed by whitespace")
        );
        assert_eq!(
            split_scheme("Digest,a=b"),
            Err("auth scheme not followed by whitespace")
        );
    }

    #[test]
    fn tokens_and_quoted_strings_in_any_spacing() {
        assert_eq!(
            params("a=b,c = \"d e\" ,\te=\"\""),
            Ok(vec![pair("a", "b"), pair("c", "d e"), pair("e", "")])
        );
    }

    #[test]
    fn quoted_commas_and_equals_stay_in_the_value() {
        assert_eq!(
            params(r#"uri="sip:a,b=c@x", n=1"#),
            Ok(vec![pair("uri", "sip:a,b=c@x"), pair("n", "1")])
        );
    }

    #[test]
    fn escapes_are_removed() {
        assert_eq!(params(r#"u="a\"b\\c\d""#), Ok(vec![pair("u", r#"a"b\cd"#)]));
        assert_eq!(params(r#"u="\é""#), Ok(vec![pair("u", "é")]));
    }

    #[test]
    fn non_ascii_in_quoted_strings_is_kept() {
        assert_eq!(params("u=\"jürgen\""), Ok(vec![pair("u", "jürgen")]));
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(
            params(", a=1 ,, ,b=2,"),
            Ok(vec![pair("a", "1"), pair("b", "2")])
        );
        assert_eq!(params(""), Ok(vec![]));
    }

    #[test]
    fn folded_lines_are_whitespace() {
        assert_eq!(
            params("a=1,\r\n b=2\r\n\t,c=3"),
            Ok(vec![pair("a", "1"), pair("b", "2"), pair("c", "3")])
        );
    }

    #[test]
    fn malformed_lists_are_errors() {
        let cases: &[(&str, &str)] = &[
            ("a", "parameter without '='"),
            (
                "a=",
                "parameter value is neither a token nor a quoted-string",
            ),
            ("=b", "parameter name is not a token"),
            ("a=b c=d", "expected ',' between parameters"),
            ("a=\"b", "unterminated quoted-string"),
            ("a=\"b\\", "unterminated quoted-string"),
            ("a=\"b\"c", "expected ',' between parameters"),
            ("a=\"b\r\n c\"", "line break in quoted-string"),
            ("a=\"b\\\nc\"", "line break in quoted-string"),
            ("a=\"b\0c\"", "control character in quoted-string"),
            ("a=b,\r\nc=d", "parameter name is not a token"),
            ("a=b/c", "expected ',' between parameters"),
        ];
        for (input, reason) in cases {
            assert_eq!(params(input), Err(*reason), "{input:?}");
        }
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let mut lexer = AuthParams::new("a=1 junk, b=2");
        assert!(matches!(lexer.next(), Some(Err(_))));
        assert!(lexer.next().is_none());
    }

    #[test]
    fn lws_skips_only_folded_breaks() {
        assert_eq!(skip_lws(" \t x"), "x");
        assert_eq!(skip_lws("\r\n x"), "x");
        assert_eq!(skip_lws("\r\nx"), "\r\nx");
        assert_eq!(skip_lws("\n\tx"), "x");
    }
}
