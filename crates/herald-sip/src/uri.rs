//! URIs: sip, sips, tel, and any other scheme kept opaque (the server answers 416).
use crate::{
    chars::{byte_table, parse_digits, split_once_byte},
    error::ParseError,
    escape::{escapes_well_formed, unescape},
    params::{Params, parse_uri_params},
    text::SipStr,
};
use std::{
    borrow::Cow,
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

mod equivalence;

/// A URI scheme.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`.
    Sip,
    /// `sips:`.
    Sips,
    /// `tel:` (RFC 3966).
    Tel,
    /// Any other scheme, as written.
    Other(SipStr),
}

impl Scheme {
    /// The scheme name (`sip`, `sips`, `tel`, or as written).
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s.as_str(),
        }
    }
}

/// The host part of a URI or Via sent-by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// Lower-cased when compared; kept as written here.
    Domain(SipStr),
    /// IPv6 literals are written with brackets; stored without.
    Ip(IpAddr),
}

impl Host {
    /// Host equality as RFC 3261 §19.1.4 defines it: domains case-insensitively.
    pub fn matches(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::Ip(a), Host::Ip(b)) => a == b,
            _ => false,
        }
    }

    /// Appends the host as written in a URI (IPv6 in brackets).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Host::Domain(d) => out.extend_from_slice(d.as_bytes()),
            Host::Ip(IpAddr::V4(ip)) => crate::digits::push_ip(out, IpAddr::V4(*ip)),
            Host::Ip(IpAddr::V6(ip)) => {
                out.push(b'[');
                crate::digits::push_ip(out, IpAddr::V6(*ip));
                out.push(b']');
            }
        }
    }

    /// Parses a domain name, an IPv4 address or a bracketed IPv6 reference.
    pub fn parse(s: &SipStr) -> Result<Host, ParseError> {
        parse_host(s, s.as_str())
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

fn is_domain_char(b: u8) -> bool {
    DOMAIN_CHARS[usize::from(b)]
}

// `_` is not in the RFC 3261 hostname grammar, but DNS SRV-style and many deployed
// names carry it; accepting it costs nothing.
static DOMAIN_CHARS: [bool; 256] =
    byte_table!(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');

/// Parses `host` (no port) from `text`, a slice of `base`.
pub(crate) fn parse_host(base: &SipStr, text: &str) -> Result<Host, ParseError> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| ParseError::bad(format!("unterminated IPv6 reference `{text}`")))?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| ParseError::bad(format!("invalid IPv6 address `{inner}`")));
    }
    if text.is_empty() {
        return Err(ParseError::bad("empty host"));
    }
    let bytes = text.as_bytes();
    if bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return text
            .parse::<Ipv4Addr>()
            .map(|ip| Host::Ip(IpAddr::V4(ip)))
            .map_err(|_| ParseError::bad(format!("invalid IPv4 address `{text}`")));
    }
    let well_formed = bytes.iter().all(|&b| is_domain_char(b))
        && bytes
            .first()
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        && !bytes.windows(2).any(|w| w == b"..");
    if !well_formed {
        return Err(ParseError::bad(format!("invalid host `{text}`")));
    }
    Ok(Host::Domain(base.slice_ref(text)))
}

/// Parses `host [":" port]` from `text`, a slice of `base`.
pub(crate) fn parse_host_port(
    base: &SipStr,
    text: &str,
) -> Result<(Host, Option<u16>), ParseError> {
    let (host, port) = if text.starts_with('[') {
        match text.find(']') {
            Some(close) => {
                let (host, rest) = text.split_at(close + 1);
                match rest {
                    "" => (host, None),
                    _ => match rest.strip_prefix(':') {
                        Some(port) => (host, Some(port)),
                        None => return Err(ParseError::bad(format!("invalid host `{text}`"))),
                    },
                }
            }
            None => {
                return Err(ParseError::bad(format!(
                    "unterminated IPv6 reference `{text}`"
                )));
            }
        }
    } else {
        match split_once_byte(text, b':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let host = parse_host(base, host)?;
    let port = match port {
        Some(p) => Some(
            parse_digits(p)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| ParseError::bad(format!("invalid port `{p}`")))?,
        ),
        None => None,
    };
    Ok((host, port))
}

/// A parsed URI. For `sip`/`sips`, `user`/`password` are kept escaped as written
/// (comparison unescapes, §19.1.4); `headers` is the raw `?h=v&...` part without `?`.
/// For `tel`, `user` holds the number and `host` is empty-domain. For other schemes
/// only `scheme` and `opaque` are meaningful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// User part, escaped as written (the number for `tel`).
    pub user: Option<SipStr>,
    /// Password, escaped as written.
    pub password: Option<SipStr>,
    /// Host (an empty domain for `tel` and other schemes).
    pub host: Host,
    /// Port, if written.
    pub port: Option<u16>,
    /// URI parameters in order.
    pub params: Params,
    /// Raw `?h=v&...` part without the `?`.
    pub headers: Option<SipStr>,
    /// For other schemes, everything after `scheme:` as written (how they are
    /// re-serialised and compared). Empty for sip, sips and tel, whose parts above say
    /// everything: not keeping it saves a buffer share per parsed URI.
    pub opaque: SipStr,
}

/// `unreserved` (alphanum / mark) of RFC 3261 §25.1.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// `user`: unreserved, escaped, user-unreserved (`&=+$,;?/`).
fn is_user_char(b: u8) -> bool {
    USER_CHARS[usize::from(b)]
}

static USER_CHARS: [bool; 256] = byte_table!(|b| is_unreserved(b)
    || matches!(
        b,
        b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
    ));

/// `password`: unreserved, escaped, `&=+$,`.
fn is_password_char(b: u8) -> bool {
    PASSWORD_CHARS[usize::from(b)]
}

static PASSWORD_CHARS: [bool; 256] =
    byte_table!(|b| is_unreserved(b) || matches!(b, b'%' | b'&' | b'=' | b'+' | b'$' | b','));

/// `headers` (`hname "=" hvalue *("&" ...)`): unreserved, escaped, hnv-unreserved.
fn is_uri_header_char(b: u8) -> bool {
    URI_HEADER_CHARS[usize::from(b)]
}

static URI_HEADER_CHARS: [bool; 256] = byte_table!(|b| is_unreserved(b)
    || matches!(
        b,
        b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$' | b'=' | b'&'
    ));

/// Bytes that never appear unescaped in a URI: whitespace, controls, quotes, angle
/// brackets and non-ASCII.
static MUST_BE_ESCAPED: [bool; 256] =
    byte_table!(|b| b <= b' ' || b >= 0x7f || matches!(b, b'<' | b'>' | b'"'));

/// `tel` numbers: digits, hex digits, `*#+` and visual separators (RFC 3966).
fn is_tel_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'+' | b'-' | b'.' | b'(' | b')')
}

fn all_with_escapes(s: &str, allowed: fn(u8) -> bool) -> bool {
    s.bytes().all(allowed) && escapes_well_formed(s.as_bytes())
}

impl Uri {
    /// Parses a URI (no surrounding `<>`, no LWS inside: RFC 4475 §3.1.2.7/8 are errors).
    pub fn parse(s: &SipStr) -> Result<Uri, ParseError> {
        Uri::parse_in(s, s.as_str())
    }

    /// Parses `text`, a slice of `base`, sharing `base`'s buffer (saves re-checking
    /// UTF-8 and re-slicing when a caller already holds the text).
    pub(crate) fn parse_in(base: &SipStr, text: &str) -> Result<Uri, ParseError> {
        if text.is_empty() {
            return Err(ParseError::bad("empty URI"));
        }
        // Whitespace, controls, quotes and angle brackets never appear in a URI
        // (they must be escaped); non-ASCII must be escaped too.
        if let Some(bad) = text.bytes().find(|&b| MUST_BE_ESCAPED[usize::from(b)]) {
            let what = if bad == b' ' || bad == b'\t' {
                "whitespace"
            } else {
                "a character that must be escaped"
            };
            return Err(ParseError::bad(format!(
                "URI `{}` contains {what}",
                text.escape_debug()
            )));
        }
        let (scheme_text, rest) = split_once_byte(text, b':')
            .ok_or_else(|| ParseError::bad(format!("URI `{text}` has no scheme")))?;
        let scheme_ok = scheme_text
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme_text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(ParseError::bad(format!(
                "URI `{text}` has an invalid scheme"
            )));
        }
        let scheme = if scheme_text.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme_text.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme_text.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            Scheme::Other(base.slice_ref(scheme_text))
        };
        if rest.is_empty() {
            return Err(ParseError::bad(format!(
                "URI `{text}` is empty after the scheme"
            )));
        }
        match scheme {
            Scheme::Sip | Scheme::Sips => parse_sip(base, scheme, rest),
            Scheme::Tel => parse_tel(base, rest),
            Scheme::Other(_) => Ok(Uri {
                scheme,
                user: None,
                password: None,
                host: Host::Domain(SipStr::default()),
                port: None,
                params: Params::default(),
                headers: None,
                opaque: base.slice_ref(rest),
            }),
        }
    }

    /// Convenience for tests/config: copies `s`.
    pub fn parse_str(s: &str) -> Result<Uri, ParseError> {
        Uri::parse(&SipStr::from(s.to_owned()))
    }

    /// `user@host` with the user part unescaped and the host lower-cased: the
    /// address-of-record key used by the registrar and presence (no port, no params).
    /// Only for sip/sips URIs; `None` for other schemes and for a user part whose
    /// unescaped bytes are not UTF-8 (it could not be a key without collisions).
    /// Without a user part the key is the host alone.
    pub fn aor(&self) -> Option<String> {
        if !matches!(self.scheme, Scheme::Sip | Scheme::Sips) {
            return None;
        }
        let host = self.host.to_string().to_ascii_lowercase();
        match &self.user {
            Some(user) => {
                let user = String::from_utf8(unescape(user).into_owned()).ok()?;
                Some(format!("{user}@{host}"))
            }
            None => Some(host),
        }
    }

    /// User part with %-escapes decoded (may contain any byte, incl. %00).
    pub fn user_unescaped(&self) -> Option<Cow<'_, [u8]>> {
        self.user.as_ref().map(|u| unescape(u))
    }

    /// The `transport` URI parameter, lower-cased.
    pub fn transport_param(&self) -> Option<String> {
        self.params.value("transport").map(str::to_ascii_lowercase)
    }

    /// RFC 3261 §19.1.4 equivalence (escapes, case rules, parameter rules).
    pub fn equivalent(&self, other: &Uri) -> bool {
        match (&self.scheme, &other.scheme) {
            (Scheme::Sip, Scheme::Sip) | (Scheme::Sips, Scheme::Sips) => {
                equivalence::sip(self, other)
            }
            (Scheme::Tel, Scheme::Tel) => equivalence::tel(self, other),
            (Scheme::Other(a), Scheme::Other(b)) => {
                a.eq_ignore_ascii_case(b) && self.opaque == other.opaque
            }
            _ => false,
        }
    }

    /// Writes the URI (sip/sips/tel rebuilt from the parts, other schemes as written).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.scheme.as_str().as_bytes());
        out.push(b':');
        match self.scheme {
            Scheme::Sip | Scheme::Sips => {
                if let Some(user) = &self.user {
                    out.extend_from_slice(user.as_bytes());
                    if let Some(password) = &self.password {
                        out.push(b':');
                        out.extend_from_slice(password.as_bytes());
                    }
                    out.push(b'@');
                }
                self.host.write_to(out);
                if let Some(port) = self.port {
                    out.push(b':');
                    crate::digits::push_decimal(out, port);
                }
                self.params.write_to(out);
                if let Some(headers) = &self.headers {
                    out.push(b'?');
                    out.extend_from_slice(headers.as_bytes());
                }
            }
            Scheme::Tel => {
                if let Some(number) = &self.user {
                    out.extend_from_slice(number.as_bytes());
                }
                self.params.write_to(out);
            }
            Scheme::Other(_) => out.extend_from_slice(self.opaque.as_bytes()),
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

fn parse_sip(base: &SipStr, scheme: Scheme, rest: &str) -> Result<Uri, ParseError> {
    // The user part may itself contain `;`, `?` and `,` (RFC 4475 §3.1.1.9), but never
    // an unescaped `@`, nor can the host, params or headers: the last `@` ends it.
    // Byte searches (memchr) for ASCII delimiters: `str`'s char searchers were most of
    // the cost of splitting a URI. An ASCII byte's index is always a char boundary.
    let (userinfo, host_and_rest) = match memchr::memrchr(b'@', rest.as_bytes()) {
        Some(at) => (rest.get(..at), rest.get(at + 1..).unwrap_or_default()),
        None => (None, rest),
    };
    let (user, password) = match userinfo {
        Some(userinfo) => {
            let (user, password) = match split_once_byte(userinfo, b':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if user.is_empty() || !all_with_escapes(user, is_user_char) {
                return Err(ParseError::bad(format!(
                    "invalid user part `{user}` in URI"
                )));
            }
            if let Some(password) = password
                && !all_with_escapes(password, is_password_char)
            {
                return Err(ParseError::bad("invalid password in URI"));
            }
            (
                Some(base.slice_ref(user)),
                password.map(|p| base.slice_ref(p)),
            )
        }
        None => (None, None),
    };
    let host_end =
        memchr::memchr2(b';', b'?', host_and_rest.as_bytes()).unwrap_or(host_and_rest.len());
    let (host_port, after_host) = host_and_rest.split_at(host_end);
    let (host, port) = parse_host_port(base, host_port)?;
    let (params_text, headers_text) = match split_once_byte(after_host, b'?') {
        Some((params, headers)) => (params, Some(headers)),
        None => (after_host, None),
    };
    let params = match params_text.strip_prefix(';') {
        Some(params) => parse_uri_params(base, params)?,
        None => Params::default(),
    };
    let headers = match headers_text {
        Some(h) if !h.is_empty() && all_with_escapes(h, is_uri_header_char) => {
            Some(base.slice_ref(h))
        }
        Some(h) => return Err(ParseError::bad(format!("invalid URI headers `{h}`"))),
        None => None,
    };
    Ok(Uri {
        scheme,
        user,
        password,
        host,
        port,
        params,
        headers,
        opaque: SipStr::default(),
    })
}

fn parse_tel(base: &SipStr, rest: &str) -> Result<Uri, ParseError> {
    let (number, params) = match split_once_byte(rest, b';') {
        Some((number, params)) => (number, parse_uri_params(base, params)?),
        None => (rest, Params::default()),
    };
    if number.is_empty() || !number.bytes().all(is_tel_char) {
        return Err(ParseError::bad(format!(
            "invalid telephone number `{number}`"
        )));
    }
    Ok(Uri {
        scheme: Scheme::Tel,
        user: Some(base.slice_ref(number)),
        password: None,
        host: Host::Domain(SipStr::default()),
        port: None,
        params,
        headers: None,
        opaque: SipStr::default(),
    })
}
