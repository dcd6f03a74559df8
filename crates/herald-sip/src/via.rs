//! Via header entries.
use crate::{error::ParseError, params::Params, text::SipStr, uri::Host};

/// The RFC 3261 branch magic cookie.
pub const BRANCH_MAGIC: &str = "z9hG4bK";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// `SIP/2.0` protocol name/version as written.
    pub protocol: SipStr,
    /// Transport token upper-cased as written (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, or any
    /// unknown token: RFC 4475 §3.1.1.10 says they are legal).
    pub transport: SipStr,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}
impl Via {
    /// Parses a single Via value (one element of `Headers::values(&HeaderName::Via)`).
    pub fn parse(s: &SipStr) -> Result<Via, ParseError> { todo!() }
    pub fn branch(&self) -> Option<&str> { self.params.value("branch") }
    /// True when the branch starts with the RFC 3261 magic cookie.
    pub fn rfc3261_branch(&self) -> bool { todo!() }
    pub fn received(&self) -> Option<&str> { self.params.value("received") }
    /// `Some(None)` for a bare `;rport`, `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> { todo!() }
    pub fn write_to(&self, out: &mut Vec<u8>) { todo!() }
}
// Implement Display.
