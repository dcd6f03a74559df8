//! URIs: sip, sips, tel, and any other scheme kept opaque (the server answers 416).
use crate::{error::ParseError, params::Params, text::SipStr};
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scheme { Sip, Sips, Tel, Other(SipStr) }

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// Lower-cased when compared; kept as written here.
    Domain(SipStr),
    /// IPv6 literals are written with brackets; stored without.
    Ip(IpAddr),
}
// Implement Display for Host (IPv6 in brackets).

/// A parsed URI. For `sip`/`sips`, `user`/`password` are kept escaped as written
/// (comparison unescapes, §19.1.4); `headers` is the raw `?h=v&...` part without `?`.
/// For `tel`, `user` holds the number and `host` is empty-domain. For other schemes
/// only `scheme` and `opaque` are meaningful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    pub scheme: Scheme,
    pub user: Option<SipStr>,
    pub password: Option<SipStr>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    pub headers: Option<SipStr>,
    /// Everything after `scheme:` as written (used to re-serialise unknown schemes).
    pub opaque: SipStr,
}

impl Uri {
    /// Parses a URI (no surrounding `<>`, no LWS inside: RFC 4475 §3.1.2.7/8 are errors).
    pub fn parse(s: &SipStr) -> Result<Uri, ParseError> { todo!() }
    /// Convenience for tests/config: copies `s`.
    pub fn parse_str(s: &str) -> Result<Uri, ParseError> { todo!() }
    /// `user@host` with the user part unescaped and the host lower-cased: the
    /// address-of-record key used by the registrar and presence (no port, no params).
    pub fn aor(&self) -> Option<String> { todo!() }
    /// User part with %-escapes decoded (may contain any byte, incl. %00).
    pub fn user_unescaped(&self) -> Option<Vec<u8>> { todo!() }
    /// The `transport` URI parameter, lower-cased.
    pub fn transport_param(&self) -> Option<String> { todo!() }
    /// RFC 3261 §19.1.4 equivalence (escapes, case rules, parameter rules).
    pub fn equivalent(&self, other: &Uri) -> bool { todo!() }
    pub fn write_to(&self, out: &mut Vec<u8>) { todo!() }
}
// Implement Display (serialises with write_to).
