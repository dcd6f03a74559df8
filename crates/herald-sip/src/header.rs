//! Header names and the ordered header list of a message.
use crate::{
    chars::{TopLevelSplit, find_top_level, is_token, trim_wsp},
    text::SipStr,
};
use std::hash::{Hash, Hasher};

/// Known header names (compact forms map here too: i, m, e, l, c, f, s, k, t, v, o, u,
/// r, b, x, y, a, j, d). Anything else is `Other`, kept as written and compared
/// case-insensitively.
///
/// The compact forms whose long names have no variant here (x, y, a, j, d) become
/// `Other` holding the long name (`Session-Expires`, `Identity`, `Accept-Contact`,
/// `Reject-Contact`, `Request-Disposition`). Equality and hashing follow the names
/// case-insensitively, so `Other("session-expires")` equals what `x` parses to.
#[derive(Clone, Debug)]
pub enum HeaderName {
    /// `Accept`.
    Accept,
    /// `Accept-Encoding`.
    AcceptEncoding,
    /// `Accept-Language`.
    AcceptLanguage,
    /// `Alert-Info`.
    AlertInfo,
    /// `Allow`.
    Allow,
    /// `Allow-Events`, compact form `u`.
    AllowEvents,
    /// `Authentication-Info`.
    AuthenticationInfo,
    /// `Authorization`.
    Authorization,
    /// `Call-ID`, compact form `i`.
    CallId,
    /// `Call-Info`.
    CallInfo,
    /// `Contact`, compact form `m`.
    Contact,
    /// `Content-Disposition`.
    ContentDisposition,
    /// `Content-Encoding`, compact form `e`.
    ContentEncoding,
    /// `Content-Language`.
    ContentLanguage,
    /// `Content-Length`, compact form `l`.
    ContentLength,
    /// `Content-Type`, compact form `c`.
    ContentType,
    /// `CSeq`.
    CSeq,
    /// `Date`.
    Date,
    /// `Error-Info`.
    ErrorInfo,
    /// `Event`, compact form `o`.
    Event,
    /// `Expires`.
    Expires,
    /// `From`, compact form `f`.
    From,
    /// `In-Reply-To`.
    InReplyTo,
    /// `Max-Forwards`.
    MaxForwards,
    /// `MIME-Version`.
    MimeVersion,
    /// `Min-Expires`.
    MinExpires,
    /// `Organization`.
    Organization,
    /// `Path`.
    Path,
    /// `Priority`.
    Priority,
    /// `Proxy-Authenticate`.
    ProxyAuthenticate,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `RAck`.
    RAck,
    /// `Record-Route`.
    RecordRoute,
    /// `Refer-To`, compact form `r`.
    ReferTo,
    /// `Referred-By`, compact form `b`.
    ReferredBy,
    /// `Reply-To`.
    ReplyTo,
    /// `Require`.
    Require,
    /// `Retry-After`.
    RetryAfter,
    /// `Route`.
    Route,
    /// `RSeq`.
    RSeq,
    /// `Server`.
    Server,
    /// `SIP-ETag`.
    SipETag,
    /// `SIP-If-Match`.
    SipIfMatch,
    /// `Subject`, compact form `s`.
    Subject,
    /// `Subscription-State`.
    SubscriptionState,
    /// `Supported`, compact form `k`.
    Supported,
    /// `Timestamp`.
    Timestamp,
    /// `To`, compact form `t`.
    To,
    /// `Unsupported`.
    Unsupported,
    /// `User-Agent`.
    UserAgent,
    /// `Via`, compact form `v`.
    Via,
    /// `Warning`.
    Warning,
    /// `WWW-Authenticate`.
    WwwAuthenticate,
    /// Any other name, as written (compared case-insensitively).
    Other(SipStr),
}

/// Longest known name (`Authentication-Info`, `Proxy-Authorization`, `Content-Disposition`).
const LONGEST_KNOWN: usize = 19;

/// Looks a lower-cased name up among the known and compact names.
fn known(lower: &[u8]) -> Option<HeaderName> {
    use HeaderName::*;
    Some(match lower {
        b"accept" => Accept,
        b"accept-encoding" => AcceptEncoding,
        b"accept-language" => AcceptLanguage,
        b"alert-info" => AlertInfo,
        b"allow" => Allow,
        b"allow-events" | b"u" => AllowEvents,
        b"authentication-info" => AuthenticationInfo,
        b"authorization" => Authorization,
        b"call-id" | b"i" => CallId,
        b"call-info" => CallInfo,
        b"contact" | b"m" => Contact,
        b"content-disposition" => ContentDisposition,
        b"content-encoding" | b"e" => ContentEncoding,
        b"content-language" => ContentLanguage,
        b"content-length" | b"l" => ContentLength,
        b"content-type" | b"c" => ContentType,
        b"cseq" => CSeq,
        b"date" => Date,
        b"error-info" => ErrorInfo,
        b"event" | b"o" => Event,
        b"expires" => Expires,
        b"from" | b"f" => From,
        b"in-reply-to" => InReplyTo,
        b"max-forwards" => MaxForwards,
        b"mime-version" => MimeVersion,
        b"min-expires" => MinExpires,
        b"organization" => Organization,
        b"path" => Path,
        b"priority" => Priority,
        b"proxy-authenticate" => ProxyAuthenticate,
        b"proxy-authorization" => ProxyAuthorization,
        b"proxy-require" => ProxyRequire,
        b"rack" => RAck,
        b"record-route" => RecordRoute,
        b"refer-to" | b"r" => ReferTo,
        b"referred-by" | b"b" => ReferredBy,
        b"reply-to" => ReplyTo,
        b"require" => Require,
        b"retry-after" => RetryAfter,
        b"route" => Route,
        b"rseq" => RSeq,
        b"server" => Server,
        b"sip-etag" => SipETag,
        b"sip-if-match" => SipIfMatch,
        b"subject" | b"s" => Subject,
        b"subscription-state" => SubscriptionState,
        b"supported" | b"k" => Supported,
        b"timestamp" => Timestamp,
        b"to" | b"t" => To,
        b"unsupported" => Unsupported,
        b"user-agent" => UserAgent,
        b"via" | b"v" => Via,
        b"warning" => Warning,
        b"www-authenticate" => WwwAuthenticate,
        b"x" => Other(SipStr::from_static("Session-Expires")),
        b"y" => Other(SipStr::from_static("Identity")),
        b"a" => Other(SipStr::from_static("Accept-Contact")),
        b"j" => Other(SipStr::from_static("Reject-Contact")),
        b"d" => Other(SipStr::from_static("Request-Disposition")),
        _ => return None,
    })
}

/// Lower-cases `name` into a stack buffer; `None` if it is longer than any known name.
fn lookup(name: &[u8]) -> Option<HeaderName> {
    let mut buf = [0u8; LONGEST_KNOWN];
    let lower = buf.get_mut(..name.len())?;
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    known(lower)
}

impl HeaderName {
    /// Case-insensitive; accepts the compact forms. `None` if not a token.
    pub fn parse(name: &[u8]) -> Option<HeaderName> {
        if !is_token(name) {
            return None;
        }
        // Token characters are ASCII, so this cannot fail once `is_token` held.
        lookup(name).or_else(|| {
            std::str::from_utf8(name)
                .ok()
                .map(|n| HeaderName::Other(SipStr::from(n.to_owned())))
        })
    }

    /// Like [`HeaderName::parse`], but an unknown name shares `name`'s buffer instead
    /// of being copied (the parser's path).
    pub fn from_sip_str(name: &SipStr) -> Option<HeaderName> {
        HeaderName::from_slice_of(name, name.as_str())
    }

    /// Like [`HeaderName::from_sip_str`] for `name`, a slice of `base`; only an unknown
    /// name takes a share of `base`'s buffer (a known one is just its variant).
    pub(crate) fn from_slice_of(base: &SipStr, name: &str) -> Option<HeaderName> {
        if !is_token(name.as_bytes()) {
            return None;
        }
        Some(lookup(name.as_bytes()).unwrap_or_else(|| HeaderName::Other(base.slice_ref(name))))
    }

    /// Canonical long form (`Call-ID`, `CSeq`, `WWW-Authenticate`, ...).
    pub fn as_str(&self) -> &str {
        use HeaderName::*;
        match self {
            Accept => "Accept",
            AcceptEncoding => "Accept-Encoding",
            AcceptLanguage => "Accept-Language",
            AlertInfo => "Alert-Info",
            Allow => "Allow",
            AllowEvents => "Allow-Events",
            AuthenticationInfo => "Authentication-Info",
            Authorization => "Authorization",
            CallId => "Call-ID",
            CallInfo => "Call-Info",
            Contact => "Contact",
            ContentDisposition => "Content-Disposition",
            ContentEncoding => "Content-Encoding",
            ContentLanguage => "Content-Language",
            ContentLength => "Content-Length",
            ContentType => "Content-Type",
            CSeq => "CSeq",
            Date => "Date",
            ErrorInfo => "Error-Info",
            Event => "Event",
            Expires => "Expires",
            From => "From",
            InReplyTo => "In-Reply-To",
            MaxForwards => "Max-Forwards",
            MimeVersion => "MIME-Version",
            MinExpires => "Min-Expires",
            Organization => "Organization",
            Path => "Path",
            Priority => "Priority",
            ProxyAuthenticate => "Proxy-Authenticate",
            ProxyAuthorization => "Proxy-Authorization",
            ProxyRequire => "Proxy-Require",
            RAck => "RAck",
            RecordRoute => "Record-Route",
            ReferTo => "Refer-To",
            ReferredBy => "Referred-By",
            ReplyTo => "Reply-To",
            Require => "Require",
            RetryAfter => "Retry-After",
            Route => "Route",
            RSeq => "RSeq",
            Server => "Server",
            SipETag => "SIP-ETag",
            SipIfMatch => "SIP-If-Match",
            Subject => "Subject",
            SubscriptionState => "Subscription-State",
            Supported => "Supported",
            Timestamp => "Timestamp",
            To => "To",
            Unsupported => "Unsupported",
            UserAgent => "User-Agent",
            Via => "Via",
            Warning => "Warning",
            WwwAuthenticate => "WWW-Authenticate",
            Other(name) => name.as_str(),
        }
    }
}

impl PartialEq for HeaderName {
    // Inlined: every header lookup compares each line's name with this, a few hundred
    // times per request, and the call cost more than the comparison.
    // The fast arm is one discriminant compare; the text compare for `Other` stays out
    // of line so that the inlined body is small enough to be inlined everywhere.
    #[inline]
    fn eq(&self, other: &HeaderName) -> bool {
        match (self, other) {
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => spelled_alike(self, other),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// Case-insensitive comparison of the names as written, for `Other` names.
#[cold]
#[inline(never)]
fn spelled_alike(a: &HeaderName, b: &HeaderName) -> bool {
    a.as_str().eq_ignore_ascii_case(b.as_str())
}
impl Eq for HeaderName {}
impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.as_str().bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}
impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header line. `value` is trimmed, line folding replaced by a single SP (this is
/// the only case that copies). A header line holding several comma-separated values
/// stays one `Header`; use `Headers::values` / the typed accessors to split them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The header name.
    pub name: HeaderName,
    /// The value, trimmed and unfolded.
    pub value: SipStr,
}

/// Headers in wire order. Unknown headers are kept verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);
impl Headers {
    /// The first line of `name`, as written (several values stay together).
    pub fn get(&self, name: &HeaderName) -> Option<&SipStr> {
        self.0.iter().find(|h| h.name == *name).map(|h| &h.value)
    }
    /// Every line of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a SipStr> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name == *name)
            .map(|h| &h.value)
    }
    /// All values of a list header, split on top-level commas (commas inside quotes
    /// or `<>` do not split), trimmed, across every line of that header. Empty
    /// elements (`a,,b`, an empty line) are skipped.
    pub fn values(&self, name: &HeaderName) -> Vec<SipStr> {
        let mut out = Vec::new();
        for value in self.get_all(name) {
            out.extend(
                TopLevelSplit::new(value, b',')
                    .filter(|v| !v.is_empty())
                    .map(|v| value.slice_ref(v)),
            );
        }
        out
    }
    /// Number of lines of `name` (not values: see [`Headers::values`]).
    pub fn count(&self, name: &HeaderName) -> usize {
        self.get_all(name).count()
    }
    /// Appends a line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }
    /// Inserts before the first header of that name (or at the top if none): used for Via.
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        let at = self.0.iter().position(|h| h.name == name).unwrap_or(0);
        self.0.insert(
            at,
            Header {
                name,
                value: value.into(),
            },
        );
    }
    /// Replaces every line of `name` with one line (where the first one was, or at
    /// the end if there was none).
    pub fn set(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(at) => {
                self.0.retain(|h| h.name != name);
                self.0.insert(at, Header { name, value });
            }
            None => self.0.push(Header { name, value }),
        }
    }
    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| h.name != *name);
    }
    /// Removes the first value of a list header (e.g. the top Via, the top Route),
    /// keeping the other values of that line. The value is the first of
    /// [`Headers::values`]: empty lines and empty elements (`Route: ,<sip:a>`) hold no
    /// value, so they are passed over, and afterwards `values` gives the rest.
    pub fn remove_first_value(&mut self, name: &HeaderName) -> Option<SipStr> {
        let (at, first, rest) = self.0.iter().enumerate().find_map(|(at, header)| {
            if header.name != *name {
                return None;
            }
            let (first, rest) = first_value(&header.value)?;
            Some((
                at,
                header.value.slice_ref(first),
                header.value.slice_ref(rest),
            ))
        })?;
        if first_value(&rest).is_none() {
            self.0.remove(at);
        } else if let Some(header) = self.0.get_mut(at) {
            header.value = rest;
        }
        Some(first)
    }
    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Iterates over the lines in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
}

/// The first non-empty top-level element of a list header line (trimmed) and what
/// follows its comma (trimmed, possibly empty); `None` when the line holds no value.
fn first_value(line: &str) -> Option<(&str, &str)> {
    let mut rest = line;
    loop {
        let (element, after) = match find_top_level(rest.as_bytes(), b',') {
            // `,` is ASCII, so both sides of it are char boundaries.
            Some(comma) => (rest.get(..comma)?, rest.get(comma + 1..)),
            None => (rest, None),
        };
        let element = trim_wsp(element);
        if !element.is_empty() {
            return Some((element, trim_wsp(after.unwrap_or_default())));
        }
        rest = after?;
    }
}
