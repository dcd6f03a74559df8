//! Herald's SIP message layer: the message model, a zero-copy parser tolerant of the
//! RFC 4475 torture cases, a serializer, and response construction (RFC 3261 §8.2.6).
//!
//! This crate does no I/O. Everything that comes from the network is parsed into
//! slices of the received buffer (`bytes::Bytes`), so a message costs one allocation
//! for its header index, not one per field.
//!
//! Layout (one idea per file):
//! - [`text`]: `SipStr`, a cheaply clonable UTF-8 slice of the receive buffer.
//! - [`method`]: request methods.
//! - [`uri`]: sip/sips/tel/other URIs, escapes, parameters, RFC 3261 §19.1.4 comparison.
//! - [`params`]: `;name=value` parameter lists shared by URIs, Via, name-addr.
//! - [`header`]: header names (with compact forms) and the ordered header list.
//! - [`name_addr`]: `"Display" <uri>;params` (From, To, Contact, Route, ...), `Contact: *`.
//! - [`via`]: Via entries (sent-protocol, sent-by, branch, received, rport).
//! - [`cseq`]: the CSeq header.
//! - [`message`]: `Request`, `Response`, `Message`, parsing entry points, serialization.
//! - [`framing`]: where a message ends in a byte stream (Content-Length framing, CRLF keep-alives).
//! - [`response`]: building responses from requests.
//! - [`error`]: parse errors and the SIP status they map to.

#![warn(missing_docs)]

mod chars;
pub mod cseq;
pub mod digits;
pub mod error;
mod escape;
pub mod framing;
pub mod header;
mod lines;
pub mod message;
pub mod method;
pub mod name_addr;
pub mod params;
mod parse;
mod parsed;
pub mod response;
pub mod text;
pub mod uri;
mod validate;
pub mod via;
mod write;

pub use cseq::CSeq;
pub use error::{ParseError, ParseErrorKind};
pub use header::{Header, HeaderName, Headers};
pub use message::{Message, Request, Response, Version};
pub use method::Method;
pub use name_addr::{ContactValue, NameAddr};
pub use params::{Param, Params};
pub use text::SipStr;
pub use uri::{Host, Scheme, Uri};
pub use via::Via;

/// Largest message accepted on any transport (RFC 3261 does not bound it; we do, to
/// bound memory per connection). Configurable by callers via [`message::ParseLimits`].
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 65_535;
