//! CSeq.
use crate::{
    chars::{is_wsp, parse_u32, trim_wsp},
    error::ParseError,
    method::Method,
    text::SipStr,
};
use std::fmt;

/// The CSeq header: sequence number and method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// RFC 3261 §8.1.1.5: less than 2**31.
    pub seq: u32,
    /// The method, equal to the request's (RFC 4475 §3.1.2.17).
    pub method: Method,
}
impl CSeq {
    /// Fails on overlarge numbers (RFC 4475 §3.1.2.4) and missing method.
    ///
    /// Numbers up to 2**32-1 are accepted: the 2**31 bound binds whoever picks the
    /// first number, while a receiver only needs the value to fit 32 bits.
    pub fn parse(s: &SipStr) -> Result<CSeq, ParseError> {
        let text = trim_wsp(s.as_str());
        let (number, method) = text
            .split_once(|c: char| is_wsp(c as u8) && c.is_ascii())
            .ok_or_else(|| ParseError::bad(format!("CSeq `{text}` lacks a method")))?;
        let seq = parse_u32(number)
            .ok_or_else(|| ParseError::bad(format!("invalid CSeq number `{number}`")))?;
        let method = Method::from_sip_str(&s.slice_ref(trim_wsp(method)))
            .ok_or_else(|| ParseError::bad(format!("invalid CSeq method in `{text}`")))?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &'static str) -> Result<CSeq, ParseError> {
        CSeq::parse(&SipStr::from_static(s))
    }

    #[test]
    fn cseq_forms() {
        assert_eq!(
            parse("0009 INVITE").unwrap(),
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        assert_eq!(parse(" 4294967295 \t REGISTER ").unwrap().seq, u32::MAX);
        assert_eq!(parse("1 FOO").unwrap().to_string(), "1 FOO");
        assert!(parse("36893488147419103232 REGISTER").is_err());
        assert!(parse("4294967296 INVITE").is_err());
        assert!(parse("1").is_err());
        assert!(parse("INVITE").is_err());
        assert!(parse("-1 INVITE").is_err());
        assert!(parse("1 INVITE extra").is_err());
        assert!(parse("").is_err());
    }
}
