//! Requests, responses, parsing entry points and serialization.
//!
//! Parsing validates what a server relies on (start line, header syntax, Content-Length,
//! the mandatory headers Via/From/To/Call-ID/CSeq being present, single where they must
//! be, and parseable; CSeq method equal to the request method; Max-Forwards/Expires
//! numeric and in range), so the typed accessors below only fail on messages that were
//! built or modified in code.
use crate::chars::{TopLevelSplit, parse_u32, trim_wsp};
use crate::{
    cseq::CSeq,
    error::ParseError,
    header::{HeaderName, Headers},
    method::Method,
    name_addr::{ContactValue, NameAddr},
    parsed::{Kept, Parsed},
    text::SipStr,
    uri::Uri,
    via::Via,
};
use bytes::Bytes;
use std::borrow::Cow;

/// SIP protocol version: only 2.0 exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `SIP/2.0`.
    Sip20,
}

/// Bounds applied while parsing (message size, header count, Via depth).
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Largest message accepted, in bytes (larger ones get 513).
    pub max_message_size: usize,
    /// Most header lines accepted.
    pub max_headers: usize,
    /// Most Via entries accepted in a request.
    pub max_vias: usize,
}
impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_message_size: crate::DEFAULT_MAX_MESSAGE_SIZE,
            max_headers: 256,
            max_vias: 70,
        }
    }
}

/// A SIP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method of the request line.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// The protocol version.
    pub version: Version,
    /// Header lines in wire order.
    pub headers: Headers,
    /// The body (bounded by Content-Length).
    pub body: Bytes,
    /// Typed headers the parser built, reused by the accessors.
    pub(crate) parsed: Parsed,
}

/// A SIP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The protocol version.
    pub version: Version,
    /// Status code, 100..=699.
    pub status: u16,
    /// Reason phrase (may be empty, UTF-8).
    pub reason: SipStr,
    /// Header lines in wire order.
    pub headers: Headers,
    /// The body (bounded by Content-Length).
    pub body: Bytes,
    /// Typed headers the parser built, reused by the accessors.
    pub(crate) parsed: Parsed,
}

// Boxing the request would change the public contract; a message is moved a few
// times per transaction, so the size difference costs little.
/// A request or a response.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// A message that failed to parse. `error.status()` says what to answer; when the bytes
/// were a request and its Via/From/To/Call-ID/CSeq lines could be split out, `headers`
/// holds every header line that did split (raw), so `response::from_headers` can build
/// the error response and send it where the top Via says.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// What is wrong and what to answer.
    pub error: ParseError,
    /// The header lines that could be split out, for a request.
    pub headers: Option<Headers>,
}

impl Message {
    /// Parses one complete message. For datagrams, bytes after the body that
    /// Content-Length bounds are ignored (RFC 4475 §3.1.1.8); a Content-Length larger than
    /// the bytes present is an error (§3.1.2.2); without Content-Length the body is the
    /// rest of the datagram. `buf` is shared, not copied.
    pub fn parse(buf: Bytes, limits: &ParseLimits) -> Result<Message, Rejected> {
        crate::parse::parse_message(buf, limits)
    }
    /// The Call-ID, if present.
    pub fn call_id(&self) -> Option<&SipStr> {
        self.headers().get(&HeaderName::CallId)
    }
    /// The header lines of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
    /// Serialises: start line, headers in order (long names), Content-Length set to the
    /// body's length, CRLF, body.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl Request {
    /// A new request with the given headers/body (for requests the server originates).
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            version: Version::Sip20,
            headers: Headers::default(),
            body: Bytes::new(),
            parsed: Parsed::default(),
        }
    }
    /// The Call-ID, if present.
    pub fn call_id(&self) -> Option<&str> {
        self.headers.get(&HeaderName::CallId).map(|s| s.as_str())
    }
    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(required(&self.headers, &HeaderName::CSeq)?)
    }
    /// The From header.
    pub fn from(&self) -> Result<Cow<'_, NameAddr>, ParseError> {
        from(&self.headers, &self.parsed)
    }
    /// The To header.
    pub fn to(&self) -> Result<Cow<'_, NameAddr>, ParseError> {
        to(&self.headers, &self.parsed)
    }
    /// Topmost Via entry.
    pub fn top_via(&self) -> Result<Cow<'_, Via>, ParseError> {
        top_via(&self.headers, &self.parsed)
    }
    /// Replaces the topmost Via entry with `via` (a server stamping `received` and
    /// `rport`, RFC 3261 §18.2.1 and RFC 3581); `top_via` then returns `via` without
    /// parsing the new line.
    pub fn set_top_via(&mut self, via: Via) {
        let mut out = Vec::with_capacity(128);
        via.write_to(&mut out);
        let line = SipStr::from(
            String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        );
        self.headers.remove_first_value(&HeaderName::Via);
        self.headers.push_front(HeaderName::Via, line.clone());
        self.parsed.set_top_via(Kept::new(&line, via));
    }
    /// Every Via entry, top first.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.headers
            .values(&HeaderName::Via)
            .iter()
            .map(Via::parse)
            .collect()
    }
    /// The Max-Forwards value, if present and numeric.
    pub fn max_forwards(&self) -> Option<u32> {
        self.headers
            .get(&HeaderName::MaxForwards)
            .and_then(|v| parse_u32(trim_wsp(v)))
    }
    /// The Expires header (delta-seconds).
    pub fn expires(&self) -> Option<u32> {
        self.headers
            .get(&HeaderName::Expires)
            .and_then(|v| parse_u32(trim_wsp(v)))
    }
    /// Contact header values (`*` or addresses); `Ok(Addrs(vec![]))` when absent.
    pub fn contacts(&self) -> Result<Cow<'_, ContactValue>, ParseError> {
        if let Some(kept) = self.parsed.contacts(&self.headers) {
            return Ok(Cow::Borrowed(kept));
        }
        ContactValue::parse_all(&self.headers.values(&HeaderName::Contact)).map(Cow::Owned)
    }
    /// The Content-Type value as written (with any parameters).
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(&HeaderName::ContentType)
            .map(|v| v.as_str())
    }
    /// The media type of Content-Type without its parameters (`application/sdp`).
    pub fn media_type(&self) -> Option<&str> {
        self.content_type()
            .map(|v| trim_wsp(v.split(';').next().unwrap_or_default()))
    }
    /// Serialises (see [`Message::to_bytes`]).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        self.write_to(&mut out);
        Bytes::from(out)
    }
    /// Writes into `out` (avoids an allocation on hot paths).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        crate::write::request(self, out)
    }
}

impl Response {
    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(required(&self.headers, &HeaderName::CSeq)?)
    }
    /// Topmost Via entry.
    pub fn top_via(&self) -> Result<Cow<'_, Via>, ParseError> {
        top_via(&self.headers, &self.parsed)
    }
    /// The From header.
    pub fn from(&self) -> Result<Cow<'_, NameAddr>, ParseError> {
        from(&self.headers, &self.parsed)
    }
    /// The To header.
    pub fn to(&self) -> Result<Cow<'_, NameAddr>, ParseError> {
        to(&self.headers, &self.parsed)
    }
    /// Serialises (see [`Message::to_bytes`]).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        self.write_to(&mut out);
        Bytes::from(out)
    }
    /// Writes into `out` (avoids an allocation on hot paths).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        crate::write::response(self, out)
    }
}

fn required<'a>(headers: &'a Headers, name: &HeaderName) -> Result<&'a SipStr, ParseError> {
    headers
        .get(name)
        .ok_or_else(|| ParseError::bad(format!("missing {name}")))
}

fn from<'a>(headers: &'a Headers, parsed: &'a Parsed) -> Result<Cow<'a, NameAddr>, ParseError> {
    let line = required(headers, &HeaderName::From)?;
    match parsed.from(line) {
        Some(kept) => Ok(Cow::Borrowed(kept)),
        None => NameAddr::parse(line).map(Cow::Owned),
    }
}

fn to<'a>(headers: &'a Headers, parsed: &'a Parsed) -> Result<Cow<'a, NameAddr>, ParseError> {
    let line = required(headers, &HeaderName::To)?;
    match parsed.to(line) {
        Some(kept) => Ok(Cow::Borrowed(kept)),
        None => NameAddr::parse(line).map(Cow::Owned),
    }
}

fn top_via<'a>(headers: &'a Headers, parsed: &'a Parsed) -> Result<Cow<'a, Via>, ParseError> {
    let line = required(headers, &HeaderName::Via)?;
    if let Some(kept) = parsed.top_via(line) {
        return Ok(Cow::Borrowed(kept));
    }
    let first = TopLevelSplit::new(line, b',').next().unwrap_or_default();
    Via::parse_in(line, first).map(Cow::Owned)
}
