//! SIP request methods.
use crate::text::SipStr;

/// Request method. Unknown tokens are kept (RFC 3261 allows extension methods;
/// RFC 4475 §3.1.1.2 expects them to parse and get 501/405).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Invite, Ack, Bye, Cancel, Register, Options, Message, Subscribe, Notify, Publish,
    Info, Refer, Prack, Update,
    Other(SipStr),
}
impl Method {
    /// Case-sensitive per RFC 3261 §7.1. Fails if `s` is not a `token`.
    pub fn parse(s: &[u8]) -> Option<Method> { todo!() }
    pub fn as_str(&self) -> &str { todo!() }
}
// Implement Display.
