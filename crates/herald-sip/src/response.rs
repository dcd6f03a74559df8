//! Building responses from requests (RFC 3261 §8.2.6) and from the raw headers of a
//! request that failed validation.
use crate::{header::Headers, message::{Request, Response}};

/// Standard reason phrase for a status code ("Not Found" for 404...).
pub fn reason_phrase(status: u16) -> &'static str { todo!() }

/// A response to `req`: Via (all, in order), From, To, Call-ID, CSeq copied; a To tag
/// added when `to_tag` is given and the To has none (not for 100 Trying); everything else
/// empty. Callers add Contact, WWW-Authenticate, etc.
pub fn from_request(req: &Request, status: u16, reason: Option<&str>, to_tag: Option<&str>) -> Response { todo!() }

/// The same from the header list of a request that could not be fully parsed.
pub fn from_headers(headers: &Headers, status: u16, reason: &str, to_tag: Option<&str>) -> Response { todo!() }
