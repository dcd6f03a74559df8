//! Generic `;name[=value]` parameter lists (URI params, Via params, header params).
use crate::{
    chars::{
        byte_table, is_token, is_token_char, is_wsp, quoted_string_end, split_once_byte, trim_wsp,
        unescape_quoted,
    },
    error::ParseError,
    escape::escapes_well_formed,
    text::SipStr,
};
use std::borrow::Cow;

/// One `name[=value]` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The name, as written.
    pub name: SipStr,
    /// `None` for a flag parameter (`;lr`); value kept as written (quotes kept for
    /// quoted-string values; use [`Param::unquoted`] to read it).
    pub value: Option<SipStr>,
}
impl Param {
    /// The value with surrounding quotes and backslash escapes removed.
    pub fn unquoted(&self) -> Option<Cow<'_, str>> {
        let value = self.value.as_ref()?.as_str();
        match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => Some(unescape_quoted(inner)),
            None => Some(Cow::Borrowed(value)),
        }
    }
}

/// Ordered list; names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<Param>);
impl Params {
    /// The first parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }
    /// The value of `name` (None if absent or a flag).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name)?.value.as_ref().map(|v| v.as_str())
    }
    /// True if a parameter called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Sets (replacing an existing one) or appends.
    pub fn set(&mut self, name: impl Into<SipStr>, value: Option<SipStr>) {
        let name = name.into();
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(&name))
        {
            Some(existing) => existing.value = value,
            None => self.0.push(Param { name, value }),
        }
    }
    /// Removes every parameter called `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }
    /// Writes `;name=value...`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for param in &self.0 {
            out.push(b';');
            out.extend_from_slice(param.name.as_bytes());
            if let Some(value) = &param.value {
                out.push(b'=');
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Param> {
        self.0.iter()
    }
}

/// `paramchar` of RFC 3261 §25.1 (unreserved, param-unreserved; escapes checked apart).
fn is_uri_param_char(b: u8) -> bool {
    URI_PARAM_CHARS[usize::from(b)]
}

static URI_PARAM_CHARS: [bool; 256] = byte_table!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'-' | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')'
            | b'['
            | b']'
            | b'/'
            | b':'
            | b'&'
            | b'+'
            | b'$'
            | b'%'
    ));

fn uri_param_part_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_uri_param_char) && escapes_well_formed(s.as_bytes())
}

/// Parses URI parameters: `text` is what follows the first `;` (e.g. `lr;transport=tcp`).
/// No whitespace is allowed anywhere in a URI, so none is skipped here.
pub(crate) fn parse_uri_params(base: &SipStr, text: &str) -> Result<Params, ParseError> {
    let mut params = Vec::with_capacity(2);
    for part in text.split(';') {
        let (name, value) = match split_once_byte(part, b'=') {
            Some((name, value)) => (name, Some(value)),
            None => (part, None),
        };
        if !uri_param_part_ok(name) || !value.is_none_or(uri_param_part_ok) {
            return Err(ParseError::bad(format!("invalid URI parameter `{part}`")));
        }
        params.push(Param {
            name: base.slice_ref(name),
            value: value.map(|v| base.slice_ref(v)),
        });
    }
    Ok(Params(params))
}

/// Characters of an unquoted `gen-value` (`token / host`: token chars plus the
/// IPv6 reference brackets and colons).
fn is_gen_value_char(b: u8) -> bool {
    is_token_char(b) || matches!(b, b':' | b'[' | b']')
}

/// Parses header parameters (`*( SEMI generic-param )`, LWS allowed around `;` and `=`)
/// from `text`, which must be all parameters: anything else is an error.
pub(crate) fn parse_header_params(base: &SipStr, text: &str) -> Result<Params, ParseError> {
    let bytes = text.as_bytes();
    let mut params = Vec::new();
    let mut i = 0;
    let skip_wsp = |mut i: usize| {
        while bytes.get(i).is_some_and(|&b| is_wsp(b)) {
            i += 1;
        }
        i
    };
    loop {
        i = skip_wsp(i);
        match bytes.get(i) {
            None => break,
            Some(b';') => i += 1,
            Some(_) => {
                return Err(ParseError::bad(format!(
                    "unexpected text `{}`",
                    trim_wsp(text.get(i..).unwrap_or_default())
                )));
            }
        }
        i = skip_wsp(i);
        let name_start = i;
        while bytes.get(i).is_some_and(|&b| is_token_char(b)) {
            i += 1;
        }
        let name = text.get(name_start..i).unwrap_or_default();
        if !is_token(name.as_bytes()) {
            return Err(ParseError::bad("empty or invalid parameter name"));
        }
        let after_name = skip_wsp(i);
        let value = if bytes.get(after_name) == Some(&b'=') {
            i = skip_wsp(after_name + 1);
            let value_start = i;
            if bytes.get(i) == Some(&b'"') {
                i = quoted_string_end(bytes, i)
                    .ok_or_else(|| ParseError::bad("unterminated quoted string in a parameter"))?;
            } else {
                while bytes.get(i).is_some_and(|&b| is_gen_value_char(b)) {
                    i += 1;
                }
            }
            if i == value_start {
                return Err(ParseError::bad(format!(
                    "parameter `{name}` has an empty or invalid value"
                )));
            }
            Some(base.slice_ref(text.get(value_start..i).unwrap_or_default()))
        } else {
            None
        };
        params.push(Param {
            name: base.slice_ref(name),
            value,
        });
    }
    Ok(Params(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_params(s: &'static str) -> Result<Params, ParseError> {
        let base = SipStr::from_static(s);
        parse_header_params(&base, base.as_str())
    }

    #[test]
    fn header_params_allow_lws_and_quotes() {
        let params = header_params(" ; newparam = newvalue ; secondparam ; q = 0.33").unwrap();
        assert_eq!(params.value("NEWPARAM"), Some("newvalue"));
        assert!(params.contains("secondparam"));
        assert_eq!(params.value("secondparam"), None);
        assert_eq!(params.value("q"), Some("0.33"));

        let params = header_params(r#";+sip.instance="<urn:uuid:1;2>";x="a\"b""#).unwrap();
        assert_eq!(params.value("+sip.instance"), Some(r#""<urn:uuid:1;2>""#));
        assert_eq!(
            params
                .get("+sip.instance")
                .and_then(|p| p.unquoted())
                .unwrap(),
            "<urn:uuid:1;2>"
        );
        assert_eq!(
            params.get("x").and_then(|p| p.unquoted()).unwrap(),
            r#"a"b"#
        );
        assert_eq!(header_params("").unwrap(), Params::default());
    }

    #[test]
    fn bad_header_params() {
        assert!(header_params(";;").is_err());
        assert!(header_params(";tag=").is_err());
        assert!(header_params(";x=\"open").is_err());
        assert!(header_params(" junk").is_err());
        assert!(header_params(";a=b c").is_err());
        assert!(header_params(";a b").is_err());
    }

    #[test]
    fn uri_params() {
        let base = SipStr::from_static("lr;transport=tcp;%6C%72;n%61me=v%61lue");
        let params = parse_uri_params(&base, base.as_str()).unwrap();
        assert_eq!(params.0.len(), 4);
        assert!(params.contains("LR"));
        assert_eq!(params.value("transport"), Some("tcp"));
        for bad in ["", "a;", "a=", "a=b c", "bad%zz", "a\"b"] {
            let base = SipStr::from_static(bad);
            assert!(parse_uri_params(&base, base.as_str()).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_remove_write() {
        let mut params = Params::default();
        params.set("branch", Some(SipStr::from_static("z9hG4bK1")));
        params.set("rport", None);
        params.set("BRANCH", Some(SipStr::from_static("z9hG4bK2")));
        let mut out = Vec::new();
        params.write_to(&mut out);
        assert_eq!(out, b";branch=z9hG4bK2;rport");
        params.remove("Branch");
        assert!(!params.contains("branch"));
        assert_eq!(params.0.len(), 1);
    }
}
