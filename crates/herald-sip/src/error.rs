//! Parse errors, each with a human-readable reason that goes into the 400's reason
//! phrase or a Warning header, and the status a server should answer with.
use std::borrow::Cow;

/// What a server does about a message that failed to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Syntax error in a request: answer 400 (if a response can be routed).
    BadRequest,
    /// SIP version other than 2.0: 505.
    VersionNotSupported,
    /// Over the size limit: 513 Message Too Large.
    TooLarge,
    /// A malformed response, or unusable bytes: drop silently (RFC 3261 §18.1.2/§16.7).
    Drop,
}

/// A parse failure: its kind and a reason fit for a reason phrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What kind of failure, hence what to answer.
    pub kind: ParseErrorKind,
    /// Human-readable reason.
    pub reason: Cow<'static, str>,
}
impl ParseError {
    /// A syntax error in a request (400).
    pub fn bad(reason: impl Into<Cow<'static, str>>) -> Self {
        ParseError {
            kind: ParseErrorKind::BadRequest,
            reason: reason.into(),
        }
    }
    /// A message to drop silently.
    pub fn drop(reason: impl Into<Cow<'static, str>>) -> Self {
        ParseError {
            kind: ParseErrorKind::Drop,
            reason: reason.into(),
        }
    }
    /// Status code a server answers a *request* with, or None to drop.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ParseErrorKind::BadRequest => Some(400),
            ParseErrorKind::VersionNotSupported => Some(505),
            ParseErrorKind::TooLarge => Some(513),
            ParseErrorKind::Drop => None,
        }
    }
}
impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}
impl std::error::Error for ParseError {}
