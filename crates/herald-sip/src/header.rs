//! Header names and the ordered header list of a message.
use crate::text::SipStr;

/// Known header names (compact forms map here too: i, m, e, l, c, f, s, k, t, v, o, u,
/// r, b, x, y, a, j, d). Anything else is `Other`, kept as written and compared
/// case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HeaderName {
    Accept, AcceptEncoding, AcceptLanguage, AlertInfo, Allow, AllowEvents, AuthenticationInfo,
    Authorization, CallId, CallInfo, Contact, ContentDisposition, ContentEncoding,
    ContentLanguage, ContentLength, ContentType, CSeq, Date, ErrorInfo, Event, Expires, From,
    InReplyTo, MaxForwards, MimeVersion, MinExpires, Organization, Path, Priority,
    ProxyAuthenticate, ProxyAuthorization, ProxyRequire, RAck, RecordRoute, ReferTo,
    ReferredBy, ReplyTo, Require, RetryAfter, Route, RSeq, Server, SipETag, SipIfMatch,
    Subject, SubscriptionState, Supported, Timestamp, To, Unsupported, UserAgent, Via,
    Warning, WwwAuthenticate,
    Other(SipStr),
}
impl HeaderName {
    /// Case-insensitive; accepts the compact forms. `None` if not a token.
    pub fn parse(name: &[u8]) -> Option<HeaderName> { todo!() }
    /// Canonical long form (`Call-ID`, `CSeq`, `WWW-Authenticate`, ...).
    pub fn as_str(&self) -> &str { todo!() }
}

/// One header line. `value` is trimmed, line folding replaced by a single SP (this is
/// the only case that copies). A header line holding several comma-separated values
/// stays one `Header`; use `Headers::values` / the typed accessors to split them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: SipStr,
}

/// Headers in wire order. Unknown headers are kept verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);
impl Headers {
    pub fn get(&self, name: &HeaderName) -> Option<&SipStr> { todo!() }
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a SipStr> + 'a { std::iter::empty() }
    /// All values of a list header, split on top-level commas (commas inside quotes
    /// or `<>` do not split), trimmed, across every line of that header.
    pub fn values(&self, name: &HeaderName) -> Vec<SipStr> { todo!() }
    pub fn count(&self, name: &HeaderName) -> usize { todo!() }
    pub fn push(&mut self, name: HeaderName, value: impl Into<SipStr>) { todo!() }
    /// Inserts before the first header of that name (or at the top if none): used for Via.
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<SipStr>) { todo!() }
    /// Replaces every line of `name` with one line.
    pub fn set(&mut self, name: HeaderName, value: impl Into<SipStr>) { todo!() }
    pub fn remove(&mut self, name: &HeaderName) { todo!() }
    /// Removes the first value of a list header (e.g. the top Via, the top Route),
    /// keeping the other values of that line.
    pub fn remove_first_value(&mut self, name: &HeaderName) -> Option<SipStr> { todo!() }
}
