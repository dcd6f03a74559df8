//! `name-addr / addr-spec` with header parameters: From, To, Contact, Route, Record-Route,
//! Refer-To, P-Asserted-Identity...
use crate::{error::ParseError, params::Params, text::SipStr, uri::Uri};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped.
    pub display: Option<String>,
    pub uri: Uri,
    /// Header parameters (after `>`, or after the addr-spec: RFC 3261 §20 says the
    /// params of a bare addr-spec are header params, not URI params).
    pub params: Params,
}
impl NameAddr {
    /// RFC 4475: `baddn` (unquoted non-token display), `badaspec` (spaces in addr-spec),
    /// `quotbal` (unterminated quotes) are errors; `lwsdisp` (no LWS before `<`) is fine.
    pub fn parse(s: &SipStr) -> Result<NameAddr, ParseError> { todo!() }
    pub fn tag(&self) -> Option<&str> { self.params.value("tag") }
    /// Always writes the `<uri>` form.
    pub fn write_to(&self, out: &mut Vec<u8>) { todo!() }
}
// Implement Display.

/// A Contact header value: `*` or a list of name-addrs (with `expires`, `q`, `+sip.instance`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactValue {
    Star,
    Addrs(Vec<NameAddr>),
}
impl ContactValue {
    /// Parses all Contact header values of a message (already split by `Headers::values`).
    pub fn parse_all(values: &[SipStr]) -> Result<ContactValue, ParseError> { todo!() }
}
