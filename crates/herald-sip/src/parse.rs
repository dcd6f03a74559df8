//! Parsing one whole message held in a buffer (a datagram, or a stream message that
//! `framing` has cut out): start line, header lines, Content-Length, body.
use crate::{
    chars::{parse_u32, trim_wsp},
    error::{ParseError, ParseErrorKind},
    header::{Header, HeaderName, Headers},
    lines::{RawHeader, RawHeaders, unfold},
    message::{Message, ParseLimits, Rejected, Request, Response, Version},
    method::Method,
    parsed::Parsed,
    text::SipStr,
    uri::Uri,
    validate,
};
use bytes::Bytes;

/// A failure plus whatever header lines could be split out before it.
type Failure = (ParseError, Option<Headers>);

pub(crate) fn parse_message(buf: Bytes, limits: &ParseLimits) -> Result<Message, Rejected> {
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let start = leading_crlfs(&buf);
    let is_response = buf
        .get(start..start + 4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"));
    parse_at(&buf, start, is_response, limits).map_err(|(error, headers)| {
        if is_response {
            // Nobody answers a response: whatever is wrong with it, it is dropped.
            Rejected {
                error: ParseError {
                    kind: ParseErrorKind::Drop,
                    reason: error.reason,
                },
                headers: None,
            }
        } else {
            Rejected { error, headers }
        }
    })
}

fn leading_crlfs(buf: &[u8]) -> usize {
    let mut i = 0;
    while buf.get(i..i + 2) == Some(b"\r\n") {
        i += 2;
    }
    i
}

fn parse_at(
    buf: &Bytes,
    start: usize,
    is_response: bool,
    limits: &ParseLimits,
) -> Result<Message, Failure> {
    let data = buf.get(start..).unwrap_or_default();
    let Some(blank) = memchr::memmem::find(data, b"\r\n\r\n") else {
        return Err((
            ParseError::bad("no empty line after the header section"),
            None,
        ));
    };
    // The head keeps the CRLF of its last line so that every line ends in CRLF.
    let head_end = start + blank + 2;
    let body_start = head_end + 2;
    let head = buf.slice(start..head_end);
    let head_text = SipStr::from_utf8(head.clone());
    let Some(start_line_lf) = memchr::memchr(b'\n', &head) else {
        return Err((ParseError::bad("no start line"), None));
    };
    let (headers, header_error) = collect_headers(
        &head,
        head_text.as_ref(),
        start_line_lf + 1,
        limits.max_headers,
    );

    if buf.len() > limits.max_message_size {
        let reason = format!(
            "message of {} bytes exceeds the {} byte limit",
            buf.len(),
            limits.max_message_size
        );
        return Err((
            ParseError {
                kind: ParseErrorKind::TooLarge,
                reason: reason.into(),
            },
            Some(headers),
        ));
    }
    let start_line = match start_line_text(&head, head_text.as_ref(), start_line_lf) {
        Ok(line) => line,
        Err(e) => return Err((e, Some(headers))),
    };
    let start_line = if is_response {
        parse_status_line(&start_line)
    } else {
        parse_request_line(&start_line)
    };
    let start_line = match start_line {
        Ok(line) => line,
        Err(e) => return Err((e, Some(headers))),
    };
    if let Some(e) = header_error {
        return Err((e, Some(headers)));
    }
    let body = match body(buf, body_start, &headers) {
        Ok(body) => body,
        Err(e) => return Err((e, Some(headers))),
    };
    match start_line {
        StartLine::Request { method, uri } => {
            let request = Request {
                method,
                uri,
                version: Version::Sip20,
                headers,
                body,
                parsed: Parsed::default(),
            };
            match validate::check_request(&request, limits) {
                Ok(kept) => Ok(Message::Request(Request {
                    parsed: Parsed::new(kept),
                    ..request
                })),
                Err(e) => Err((e, Some(request.headers))),
            }
        }
        StartLine::Status { status, reason } => {
            let response = Response {
                version: Version::Sip20,
                status,
                reason,
                headers,
                body,
                parsed: Parsed::default(),
            };
            match validate::check_response(&response) {
                Ok(kept) => Ok(Message::Response(Response {
                    parsed: Parsed::new(kept),
                    ..response
                })),
                Err(e) => Err((e, None)),
            }
        }
    }
}

/// Splits the header lines, keeping every well-formed one and the first error.
fn collect_headers(
    head: &Bytes,
    head_text: Option<&SipStr>,
    from: usize,
    max_headers: usize,
) -> (Headers, Option<ParseError>) {
    let mut headers = Vec::with_capacity(16);
    let mut first_error = None;
    let head_str = head_text.map(|t| (t, t.as_str()));
    for raw in RawHeaders::new(head, from) {
        match raw.and_then(|raw| make_header(head, head_str, raw)) {
            Ok(_) if headers.len() >= max_headers => {
                first_error.get_or_insert_with(|| {
                    ParseError::bad(format!("more than {max_headers} header lines"))
                });
            }
            Ok(header) => headers.push(header),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    (Headers(headers), first_error)
}

fn make_header(
    head: &Bytes,
    head_text: Option<(&SipStr, &str)>,
    raw: RawHeader,
) -> Result<Header, ParseError> {
    let invalid_name =
        |name: &str| ParseError::bad(format!("invalid header name `{}`", name.escape_debug()));
    let (name, value) = match head_text {
        // Fast path: the whole head is UTF-8, so every slice is shared without a check,
        // and a known name needs no slice at all.
        Some((sip, text)) => match (text.get(raw.name.clone()), text.get(raw.value.clone())) {
            (Some(name), Some(value)) => (
                HeaderName::from_slice_of(sip, name).ok_or_else(|| invalid_name(name))?,
                sip.slice_ref(value),
            ),
            _ => return Err(ParseError::bad("header line is not valid UTF-8")),
        },
        None => {
            let slice = |r: std::ops::Range<usize>| {
                head.get(r.clone())
                    .and_then(|_| SipStr::from_utf8(head.slice(r)))
                    .ok_or_else(|| ParseError::bad("header line is not valid UTF-8"))
            };
            let name = slice(raw.name)?;
            (
                HeaderName::from_sip_str(&name).ok_or_else(|| invalid_name(&name))?,
                slice(raw.value)?,
            )
        }
    };
    let value = if raw.folded {
        SipStr::from(unfold(&value))
    } else {
        value
    };
    Ok(Header { name, value })
}

fn start_line_text(
    head: &Bytes,
    head_text: Option<&SipStr>,
    lf: usize,
) -> Result<SipStr, ParseError> {
    let len = match lf.checked_sub(1) {
        Some(cr) if head.get(cr) == Some(&b'\r') => cr,
        _ => return Err(ParseError::bad("start line not terminated by CRLF")),
    };
    let line = match head_text {
        Some(text) => text.as_str().get(..len).map(|l| text.slice_ref(l)),
        None => head
            .get(..len)
            .and_then(|_| SipStr::from_utf8(head.slice(..len))),
    };
    let line = line.ok_or_else(|| ParseError::bad("start line is not valid UTF-8"))?;
    if line.contains('\r') {
        return Err(ParseError::bad("bare CR in the start line"));
    }
    Ok(line)
}

// Lives only between two statements of the parser.
#[allow(clippy::large_enum_variant)]
enum StartLine {
    Request { method: Method, uri: Uri },
    Status { status: u16, reason: SipStr },
}

/// `SIP/2.0` in any case is supported; another well-formed `SIP/x.y` gets 505;
/// anything else is a syntax error.
fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let numbers = version
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and_then(|_| version.get(4..));
    let well_formed = numbers
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
    if well_formed {
        Err(ParseError {
            kind: ParseErrorKind::VersionNotSupported,
            reason: format!("SIP version `{version}` not supported").into(),
        })
    } else {
        Err(ParseError::bad(format!(
            "invalid SIP version `{}`",
            version.escape_debug()
        )))
    }
}

/// `Method SP Request-URI SP SIP-Version`, exactly one SP between the parts
/// (RFC 4475 §3.1.2.8-10 reject any other whitespace there).
fn parse_request_line(line: &SipStr) -> Result<StartLine, ParseError> {
    let text = line.as_str();
    let (Some(first), Some(last)) = (text.find(' '), text.rfind(' ')) else {
        return Err(ParseError::bad("malformed request line"));
    };
    if first == last {
        return Err(ParseError::bad("malformed request line"));
    }
    let method_text = text.get(..first).unwrap_or_default();
    let uri_text = text.get(first + 1..last).unwrap_or_default();
    check_version(text.get(last + 1..).unwrap_or_default())?;
    let method = Method::from_sip_str(&line.slice_ref(method_text)).ok_or_else(|| {
        ParseError::bad(format!("invalid method `{}`", method_text.escape_debug()))
    })?;
    let uri = Uri::parse(&line.slice_ref(uri_text))
        .map_err(|e| ParseError::bad(format!("Request-URI: {}", e.reason)))?;
    // RFC 3261 §19.1.1: headers are not allowed in a Request-URI; honouring them
    // could smuggle header fields into a forwarded request (RFC 4475 §3.1.2.11).
    if uri.headers.is_some() {
        return Err(ParseError::bad("Request-URI must not contain headers"));
    }
    Ok(StartLine::Request { method, uri })
}

/// `SIP-Version SP Status-Code SP Reason-Phrase`; the reason may be empty
/// (RFC 4475 §3.1.1.13) and is UTF-8 (§3.1.1.12).
fn parse_status_line(line: &SipStr) -> Result<StartLine, ParseError> {
    let text = line.as_str();
    let (version, rest) = text
        .split_once(' ')
        .ok_or_else(|| ParseError::drop("malformed status line"))?;
    check_version(version)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match code.as_bytes() {
        [a, b, c] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => code.parse::<u16>().ok(),
        _ => None,
    }
    .filter(|s| (100..=699).contains(s))
    .ok_or_else(|| ParseError::drop(format!("invalid status code `{}`", code.escape_debug())))?;
    Ok(StartLine::Status {
        status,
        reason: line.slice_ref(reason),
    })
}

/// The Content-Length value, if any; several lines must agree (RFC 4475 §3.3.9).
pub(crate) fn content_length(headers: &Headers) -> Result<Option<u32>, ParseError> {
    let mut found = None;
    for value in headers.get_all(&HeaderName::ContentLength) {
        let n = parse_u32(trim_wsp(value)).ok_or_else(|| {
            ParseError::bad(format!("invalid Content-Length `{}`", value.escape_debug()))
        })?;
        if found.is_some_and(|f| f != n) {
            return Err(ParseError::bad("conflicting Content-Length values"));
        }
        found = Some(n);
    }
    Ok(found)
}

fn body(buf: &Bytes, body_start: usize, headers: &Headers) -> Result<Bytes, ParseError> {
    let available = buf.len().saturating_sub(body_start);
    match content_length(headers)? {
        None => Ok(buf.slice(body_start.min(buf.len())..)),
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > available {
                return Err(ParseError::bad(format!(
                    "Content-Length {n} exceeds the {available} body bytes received"
                )));
            }
            // Bytes after the body are ignored on datagrams (RFC 4475 §3.1.1.8).
            Ok(buf.slice(body_start..body_start + n))
        }
    }
}
