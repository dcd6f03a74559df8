//! What the parser checks beyond syntax so that the typed accessors of a parsed message
//! cannot fail: the mandatory headers (RFC 3261 §8.1.1) are present, single where they
//! must be, and parse; scalar headers are in range (RFC 4475 §3.1.2.4).
use crate::{
    chars::{TopLevelSplit, find_top_level, is_wsp, parse_digits, parse_u32, trim_wsp},
    cseq::CSeq,
    error::ParseError,
    header::{HeaderName, Headers},
    message::{ParseLimits, Request, Response},
    method::Method,
    name_addr::{ContactValue, NameAddr},
    text::SipStr,
    via::Via,
};

/// Largest Max-Forwards (RFC 3261 §20.22).
const MAX_FORWARDS_LIMIT: u64 = 255;

pub(crate) fn check_request(request: &Request, limits: &ParseLimits) -> Result<(), ParseError> {
    let headers = &request.headers;
    check_present(headers)?;
    check_vias(headers, limits.max_vias)?;
    check_dialog_headers(headers)?;
    let cseq = CSeq::parse(single(headers, &HeaderName::CSeq)?).map_err(|e| prefixed("CSeq", e))?;
    // An extension method whose CSeq disagrees still parses, so the server can
    // answer 501 rather than 400 (RFC 4475 §3.1.2.18).
    if cseq.method != request.method && !matches!(request.method, Method::Other(_)) {
        return Err(ParseError::bad(format!(
            "CSeq method {} does not match the request method {}",
            cseq.method, request.method
        )));
    }
    if let Some(value) = optional_single(headers, &HeaderName::MaxForwards)?
        && parse_digits(trim_wsp(value)).is_none_or(|n| n > MAX_FORWARDS_LIMIT)
    {
        return Err(ParseError::bad(format!("invalid Max-Forwards `{value}`")));
    }
    if let Some(value) = optional_single(headers, &HeaderName::Expires)?
        && parse_u32(trim_wsp(value)).is_none()
    {
        return Err(ParseError::bad("invalid or out-of-range Expires"));
    }
    if headers.get(&HeaderName::Contact).is_some() {
        ContactValue::parse_all(&headers.values(&HeaderName::Contact))?;
    }
    Ok(())
}

pub(crate) fn check_response(response: &Response) -> Result<(), ParseError> {
    let headers = &response.headers;
    check_present(headers)?;
    // A response never carries more Via entries than the request it answers, which
    // was bounded when it went out; no further limit is needed here.
    check_vias(headers, usize::MAX)?;
    check_dialog_headers(headers)?;
    CSeq::parse(single(headers, &HeaderName::CSeq)?).map_err(|e| prefixed("CSeq", e))?;
    Ok(())
}

fn prefixed(header: &str, e: ParseError) -> ParseError {
    ParseError {
        kind: e.kind,
        reason: format!("{header}: {}", e.reason).into(),
    }
}

/// Reports every missing mandatory header at once (RFC 4475 §3.3.1 lacks three).
fn check_present(headers: &Headers) -> Result<(), ParseError> {
    let mandatory = [
        (HeaderName::Via, "Via"),
        (HeaderName::From, "From"),
        (HeaderName::To, "To"),
        (HeaderName::CallId, "Call-ID"),
        (HeaderName::CSeq, "CSeq"),
    ];
    let missing: Vec<&str> = mandatory
        .iter()
        .filter(|(name, _)| headers.get(name).is_none())
        .map(|(_, label)| *label)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ParseError::bad(format!("missing {}", missing.join(", "))))
    }
}

fn check_vias(headers: &Headers, max_vias: usize) -> Result<(), ParseError> {
    let mut count = 0usize;
    for line in headers.get_all(&HeaderName::Via) {
        for value in TopLevelSplit::new(line, b',') {
            if value.is_empty() {
                return Err(ParseError::bad("empty Via value"));
            }
            Via::parse(&line.slice_ref(value))?;
            count += 1;
            if count > max_vias {
                return Err(ParseError::bad(format!("more than {max_vias} Via entries")));
            }
        }
    }
    Ok(())
}

fn check_dialog_headers(headers: &Headers) -> Result<(), ParseError> {
    NameAddr::parse(single(headers, &HeaderName::From)?).map_err(|e| prefixed("From", e))?;
    NameAddr::parse(single(headers, &HeaderName::To)?).map_err(|e| prefixed("To", e))?;
    let call_id = trim_wsp(single(headers, &HeaderName::CallId)?);
    // `callid = word ["@" word]`: no whitespace, and no comma (which would mean a list).
    if call_id.is_empty() || call_id.bytes().any(|b| is_wsp(b) || b == b',') {
        return Err(ParseError::bad(format!(
            "invalid Call-ID `{}`",
            call_id.escape_debug()
        )));
    }
    Ok(())
}

/// The value of a header that must occur once with one value (RFC 4475 §3.3.8).
fn single<'a>(headers: &'a Headers, name: &HeaderName) -> Result<&'a SipStr, ParseError> {
    optional_single(headers, name)?.ok_or_else(|| ParseError::bad(format!("missing {name}")))
}

fn optional_single<'a>(
    headers: &'a Headers,
    name: &HeaderName,
) -> Result<Option<&'a SipStr>, ParseError> {
    let mut lines = headers.iter().filter(|h| h.name == *name).map(|h| &h.value);
    let first = lines.next();
    if lines.next().is_some() {
        return Err(ParseError::bad(format!("more than one {name} header")));
    }
    if let Some(value) = first
        && *name != HeaderName::CallId
        && find_top_level(value.as_bytes(), b',').is_some()
    {
        return Err(ParseError::bad(format!("more than one value in {name}")));
    }
    Ok(first)
}
