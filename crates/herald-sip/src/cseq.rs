//! CSeq.
use crate::{error::ParseError, method::Method, text::SipStr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// RFC 3261 §8.1.1.5: less than 2**31.
    pub seq: u32,
    pub method: Method,
}
impl CSeq {
    /// Fails on overlarge numbers (RFC 4475 §3.1.2.4) and missing method.
    pub fn parse(s: &SipStr) -> Result<CSeq, ParseError> { todo!() }
}
// Implement Display.
