//! SIP request methods.
use crate::{chars::is_token, text::SipStr};
use std::fmt;

/// Request method. Unknown tokens are kept (RFC 3261 allows extension methods;
/// RFC 4475 §3.1.1.2 expects them to parse and get 501/405).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `INVITE` (RFC 3261).
    Invite,
    /// `ACK` (RFC 3261).
    Ack,
    /// `BYE` (RFC 3261).
    Bye,
    /// `CANCEL` (RFC 3261).
    Cancel,
    /// `REGISTER` (RFC 3261).
    Register,
    /// `OPTIONS` (RFC 3261).
    Options,
    /// `MESSAGE` (RFC 3428).
    Message,
    /// `SUBSCRIBE` (RFC 6665).
    Subscribe,
    /// `NOTIFY` (RFC 6665).
    Notify,
    /// `PUBLISH` (RFC 3903).
    Publish,
    /// `INFO` (RFC 6086).
    Info,
    /// `REFER` (RFC 3515).
    Refer,
    /// `PRACK` (RFC 3262).
    Prack,
    /// `UPDATE` (RFC 3311).
    Update,
    /// An extension method, as written.
    Other(SipStr),
}

fn known(s: &[u8]) -> Option<Method> {
    Some(match s {
        b"INVITE" => Method::Invite,
        b"ACK" => Method::Ack,
        b"BYE" => Method::Bye,
        b"CANCEL" => Method::Cancel,
        b"REGISTER" => Method::Register,
        b"OPTIONS" => Method::Options,
        b"MESSAGE" => Method::Message,
        b"SUBSCRIBE" => Method::Subscribe,
        b"NOTIFY" => Method::Notify,
        b"PUBLISH" => Method::Publish,
        b"INFO" => Method::Info,
        b"REFER" => Method::Refer,
        b"PRACK" => Method::Prack,
        b"UPDATE" => Method::Update,
        _ => return None,
    })
}

impl Method {
    /// Case-sensitive per RFC 3261 §7.1. Fails if `s` is not a `token`.
    pub fn parse(s: &[u8]) -> Option<Method> {
        if !is_token(s) {
            return None;
        }
        known(s).or_else(|| {
            std::str::from_utf8(s)
                .ok()
                .map(|m| Method::Other(SipStr::from(m.to_owned())))
        })
    }

    /// Like [`Method::parse`], but an extension method shares `s`'s buffer.
    pub fn from_sip_str(s: &SipStr) -> Option<Method> {
        if !is_token(s.as_bytes()) {
            return None;
        }
        Some(known(s.as_bytes()).unwrap_or_else(|| Method::Other(s.clone())))
    }

    /// The method name as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Message => "MESSAGE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Info => "INFO",
            Method::Refer => "REFER",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Other(m) => m.as_str(),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_extension_methods() {
        assert_eq!(Method::parse(b"INVITE"), Some(Method::Invite));
        // Case-sensitive: `invite` is an extension method, not INVITE.
        assert_eq!(
            Method::parse(b"invite").map(|m| m.to_string()),
            Some("invite".to_owned())
        );
        assert_ne!(Method::parse(b"invite"), Some(Method::Invite));
        assert_eq!(
            Method::parse(b"RE%47IST%45R").map(|m| m.to_string()),
            Some("RE%47IST%45R".to_owned())
        );
        assert_eq!(Method::parse(b""), None);
        assert_eq!(Method::parse(b"IN VITE"), None);
        assert_eq!(
            Method::from_sip_str(&SipStr::from_static("NOTIFY")),
            Some(Method::Notify)
        );
    }
}
