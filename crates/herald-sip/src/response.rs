//! Building responses from requests (RFC 3261 §8.2.6) and from the raw headers of a
//! request that failed validation.
use crate::{
    header::{HeaderName, Headers},
    message::{Request, Response, Version},
    name_addr::NameAddr,
    parsed::Parsed,
    text::SipStr,
};
use bytes::Bytes;
use std::borrow::Cow;

/// Standard reason phrase for a status code ("Not Found" for 404...).
pub fn reason_phrase(status: u16) -> &'static str {
    known_reason(status).unwrap_or(match status {
        // Unknown codes are treated as x00 of their class (RFC 3261 §8.1.3.2).
        100..=199 => "Provisional",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        600..=699 => "Global Failure",
        _ => "Unknown",
    })
}

/// The phrases of RFC 3261, 3265, 3903, 4412, 6665 and later registrations.
fn known_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        _ => return None,
    })
}

/// A response to `req`: Via (all, in order), From, To, Call-ID, CSeq copied; a To tag
/// added when `to_tag` is given and the To has none (not for 100 Trying); everything else
/// empty. Callers add Contact, WWW-Authenticate, etc.
pub fn from_request(
    req: &Request,
    status: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
) -> Response {
    let reason = match reason {
        Some(r) => SipStr::from(r.to_owned()),
        None => SipStr::from_static(reason_phrase(status)),
    };
    build(&req.headers, &req.parsed, status, reason, to_tag)
}

/// The same from the header list of a request that could not be fully parsed.
/// Headers that are missing are left out; a To that does not parse is copied as is,
/// without a tag.
pub fn from_headers(
    headers: &Headers,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> Response {
    build(
        headers,
        &Parsed::default(),
        status,
        SipStr::from(reason.to_owned()),
        to_tag,
    )
}

fn build(
    request: &Headers,
    parsed: &Parsed,
    status: u16,
    reason: SipStr,
    to_tag: Option<&str>,
) -> Response {
    let mut headers = Headers(Vec::with_capacity(8));
    for header in request.iter() {
        let copied = match header.name {
            HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                header.value.clone()
            }
            HeaderName::To => to_with_tag(&header.value, parsed, status, to_tag),
            _ => continue,
        };
        headers.push(header.name.clone(), copied);
    }
    // §8.2.6.2 lists them in no particular order; keep the request's order for the
    // copied ones but make sure Via comes first, as most stacks write it.
    headers.0.sort_by_key(|h| h.name != HeaderName::Via);
    headers.push(HeaderName::ContentLength, SipStr::from_static("0"));
    Response {
        version: Version::Sip20,
        status,
        reason,
        headers,
        body: Bytes::new(),
        parsed: Parsed::default(),
    }
}

fn to_with_tag(to: &SipStr, parsed: &Parsed, status: u16, to_tag: Option<&str>) -> SipStr {
    let Some(tag) = to_tag.filter(|_| status != 100) else {
        return to.clone();
    };
    let addr = match parsed.to(to) {
        Some(kept) => Ok(Cow::Borrowed(kept)),
        None => NameAddr::parse(to).map(Cow::Owned),
    };
    match addr {
        // Appending works for both forms: after `>`, and after a bare addr-spec whose
        // params are header params anyway.
        Ok(addr) if !addr.params.contains("tag") => {
            let to = to.trim_end();
            let mut tagged = String::with_capacity(to.len() + ";tag=".len() + tag.len());
            tagged.push_str(to);
            tagged.push_str(";tag=");
            tagged.push_str(tag);
            SipStr::from(tagged)
        }
        _ => to.clone(),
    }
}
