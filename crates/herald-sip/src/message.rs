//! Requests, responses, parsing entry points and serialization.
//!
//! Parsing validates what a server relies on (start line, header syntax, Content-Length,
//! the mandatory headers Via/From/To/Call-ID/CSeq being present, single where they must
//! be, and parseable; CSeq method equal to the request method; Max-Forwards/Expires
//! numeric and in range), so the typed accessors below only fail on messages that were
//! built or modified in code.
use crate::{
    cseq::CSeq, error::ParseError, header::{HeaderName, Headers}, method::Method,
    name_addr::{ContactValue, NameAddr}, text::SipStr, uri::Uri, via::Via,
};
use bytes::Bytes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version { Sip20 }

/// Bounds applied while parsing (message size, header count, Via depth).
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    pub max_message_size: usize,
    pub max_headers: usize,
    pub max_vias: usize,
}
impl Default for ParseLimits {
    fn default() -> Self { ParseLimits { max_message_size: crate::DEFAULT_MAX_MESSAGE_SIZE, max_headers: 256, max_vias: 70 } }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub version: Version,
    pub status: u16,
    pub reason: SipStr,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message { Request(Request), Response(Response) }

/// A message that failed to parse. `error.status()` says what to answer; when the bytes
/// were a request and its Via/From/To/Call-ID/CSeq lines could be split out, `headers`
/// holds every header line that did split (raw), so `response::from_headers` can build
/// the error response and send it where the top Via says.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub error: ParseError,
    pub headers: Option<Headers>,
}

impl Message {
    /// Parses one complete message. For datagrams, bytes after the body that
    /// Content-Length bounds are ignored (RFC 4475 §3.1.1.8); a Content-Length larger than
    /// the bytes present is an error (§3.1.2.2); without Content-Length the body is the
    /// rest of the datagram. `buf` is shared, not copied.
    pub fn parse(buf: Bytes, limits: &ParseLimits) -> Result<Message, Rejected> { todo!() }
    pub fn call_id(&self) -> Option<&SipStr> { self.headers().get(&HeaderName::CallId) }
    pub fn headers(&self) -> &Headers { match self { Message::Request(r) => &r.headers, Message::Response(r) => &r.headers } }
    /// Serialises: start line, headers in order (long names), Content-Length set to the
    /// body's length, CRLF, body.
    pub fn to_bytes(&self) -> Bytes { todo!() }
}

impl Request {
    /// A new request with the given headers/body (for requests the server originates).
    pub fn new(method: Method, uri: Uri) -> Request {
        Request { method, uri, version: Version::Sip20, headers: Headers::default(), body: Bytes::new() }
    }
    pub fn call_id(&self) -> Option<&str> { self.headers.get(&HeaderName::CallId).map(|s| s.as_str()) }
    pub fn cseq(&self) -> Result<CSeq, ParseError> { todo!() }
    pub fn from(&self) -> Result<NameAddr, ParseError> { todo!() }
    pub fn to(&self) -> Result<NameAddr, ParseError> { todo!() }
    /// Topmost Via entry.
    pub fn top_via(&self) -> Result<Via, ParseError> { todo!() }
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> { todo!() }
    pub fn max_forwards(&self) -> Option<u32> { todo!() }
    /// The Expires header (delta-seconds).
    pub fn expires(&self) -> Option<u32> { todo!() }
    /// Contact header values (`*` or addresses); `Ok(Addrs(vec![]))` when absent.
    pub fn contacts(&self) -> Result<ContactValue, ParseError> { todo!() }
    pub fn content_type(&self) -> Option<&str> { todo!() }
    pub fn to_bytes(&self) -> Bytes { todo!() }
    /// Writes into `out` (avoids an allocation on hot paths).
    pub fn write_to(&self, out: &mut Vec<u8>) { todo!() }
}

impl Response {
    pub fn cseq(&self) -> Result<CSeq, ParseError> { todo!() }
    pub fn top_via(&self) -> Result<Via, ParseError> { todo!() }
    pub fn to_bytes(&self) -> Bytes { todo!() }
    pub fn write_to(&self, out: &mut Vec<u8>) { todo!() }
}
