//! `name-addr / addr-spec` with header parameters: From, To, Contact, Route, Record-Route,
//! Refer-To, P-Asserted-Identity...
use crate::{
    chars::{is_token_char, is_wsp, quoted_string_end, trim_wsp, unescape_quoted, write_quoted},
    error::ParseError,
    params::{Params, parse_header_params},
    text::SipStr,
    uri::Uri,
};
use std::fmt;

/// An address with an optional display name and header parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped.
    pub display: Option<String>,
    /// The address.
    pub uri: Uri,
    /// Header parameters (after `>`, or after the addr-spec: RFC 3261 §20 says the
    /// params of a bare addr-spec are header params, not URI params).
    pub params: Params,
}

impl NameAddr {
    /// RFC 4475: `baddn` (unquoted non-token display), `badaspec` (spaces in addr-spec),
    /// `quotbal` (unterminated quotes) are errors; `lwsdisp` (no LWS before `<`) is fine.
    ///
    /// A bare addr-spec whose URI would need `<>` (it holds `?` or `,`, RFC 3261 §20)
    /// is an error rather than a guess (RFC 4475 §3.1.2.13).
    pub fn parse(s: &SipStr) -> Result<NameAddr, ParseError> {
        NameAddr::parse_in(s, s.as_str())
    }

    /// Parses `text`, a slice of `base`, sharing `base`'s buffer.
    pub(crate) fn parse_in(s: &SipStr, text: &str) -> Result<NameAddr, ParseError> {
        let text = trim_wsp(text);
        let bytes = text.as_bytes();
        match bytes.first() {
            None => Err(ParseError::bad("empty address")),
            Some(b'"') => {
                let end = quoted_string_end(bytes, 0)
                    .ok_or_else(|| ParseError::bad("unterminated quoted string in display name"))?;
                let inner = text.get(1..end - 1).unwrap_or_default();
                let rest = text
                    .get(end..)
                    .unwrap_or_default()
                    .trim_start_matches([' ', '\t']);
                if !rest.starts_with('<') {
                    return Err(ParseError::bad("quoted display name not followed by <URI>"));
                }
                bracketed(s, Some(unescape_quoted(inner).into_owned()), rest)
            }
            Some(b'<') => bracketed(s, None, text),
            Some(_) => match token_display_end(bytes) {
                Some(lt) => {
                    let display = trim_wsp(text.get(..lt).unwrap_or_default());
                    bracketed(
                        s,
                        Some(display.to_owned()),
                        text.get(lt..).unwrap_or_default(),
                    )
                }
                None => bare_addr_spec(s, text),
            },
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// Always writes the `<uri>` form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(display) = &self.display {
            write_quoted(display, out);
            out.push(b' ');
        }
        out.push(b'<');
        self.uri.write_to(out);
        out.push(b'>');
        self.params.write_to(out);
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// When `bytes` starts with `*(token LWS)` followed by `<`, the index of that `<`.
fn token_display_end(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let token_start = i;
        while bytes.get(i).is_some_and(|&b| is_token_char(b)) {
            i += 1;
        }
        while bytes.get(i).is_some_and(|&b| is_wsp(b)) {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'<') => return Some(i),
            Some(&b) if is_token_char(b) && i > token_start => continue,
            _ => return None,
        }
    }
}

/// `<uri>` followed by header params; `text` starts with `<`.
fn bracketed(base: &SipStr, display: Option<String>, text: &str) -> Result<NameAddr, ParseError> {
    let close = memchr::memchr(b'>', text.as_bytes())
        .ok_or_else(|| ParseError::bad("missing `>` after the URI"))?;
    let uri = Uri::parse_in(base, text.get(1..close).unwrap_or_default())?;
    let params = parse_header_params(base, text.get(close + 1..).unwrap_or_default())?;
    Ok(NameAddr {
        display,
        uri,
        params,
    })
}

fn bare_addr_spec(base: &SipStr, text: &str) -> Result<NameAddr, ParseError> {
    let bytes = text.as_bytes();
    // A `<` outside quoted strings means a display name with characters that are not
    // tokens, which must be quoted (RFC 4475 §3.1.2.15).
    let first_lt = memchr::memchr(b'<', bytes);
    let first_quote = memchr::memchr(b'"', bytes);
    if let Some(lt) = first_lt
        && first_quote.is_none_or(|q| lt < q)
    {
        return Err(ParseError::bad(
            "display name with non-token characters must be quoted",
        ));
    }
    let uri_end = bytes
        .iter()
        .position(|&b| b == b';' || is_wsp(b))
        .unwrap_or(bytes.len());
    let uri_text = text.get(..uri_end).unwrap_or_default();
    if uri_text.contains(['?', ',']) {
        return Err(ParseError::bad(
            "a URI with `?` or `,` must be enclosed in <>",
        ));
    }
    let uri = Uri::parse_in(base, uri_text)?;
    let params = parse_header_params(base, text.get(uri_end..).unwrap_or_default())
        .map_err(|e| ParseError::bad(format!("after address `{uri_text}`: {}", e.reason)))?;
    Ok(NameAddr {
        display: None,
        uri,
        params,
    })
}

/// A Contact header value: `*` or a list of name-addrs (with `expires`, `q`, `+sip.instance`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactValue {
    /// `Contact: *` (remove all bindings, RFC 3261 §10.2.2).
    Star,
    /// One or more addresses.
    Addrs(Vec<NameAddr>),
}
impl ContactValue {
    /// Parses all Contact header values of a message (already split by `Headers::values`).
    pub fn parse_all(values: &[SipStr]) -> Result<ContactValue, ParseError> {
        if values.iter().any(|v| trim_wsp(v) == "*") {
            return match values.len() {
                1 => Ok(ContactValue::Star),
                _ => Err(ParseError::bad("Contact: * must be the only Contact value")),
            };
        }
        values
            .iter()
            .map(|v| {
                NameAddr::parse(v).map_err(|e| ParseError::bad(format!("Contact: {}", e.reason)))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ContactValue::Addrs)
    }
}
