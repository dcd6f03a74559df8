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
    parsed::{Kept, ParsedHeaders},
    text::SipStr,
    via::Via,
};

/// Largest Max-Forwards (RFC 3261 §20.22).
const MAX_FORWARDS_LIMIT: u64 = 255;

/// The first line of a header and how many lines it has.
#[derive(Default)]
struct Slot<'a> {
    first: Option<&'a SipStr>,
    lines: usize,
}

impl<'a> Slot<'a> {
    fn add(&mut self, value: &'a SipStr) {
        self.first.get_or_insert(value);
        self.lines += 1;
    }

    /// The value of a header that may occur once, with one value (RFC 4475 §3.3.8).
    fn optional_single(
        &self,
        name: &str,
        list_check: bool,
    ) -> Result<Option<&'a SipStr>, ParseError> {
        if self.lines > 1 {
            return Err(ParseError::bad(format!("more than one {name} header")));
        }
        // Most values hold no comma at all; only those need the quote-aware scan.
        if let Some(value) = self.first
            && list_check
            && memchr::memchr(b',', value.as_bytes()).is_some()
            && find_top_level(value.as_bytes(), b',').is_some()
        {
            return Err(ParseError::bad(format!("more than one value in {name}")));
        }
        Ok(self.first)
    }

    fn single(&self, name: &str, list_check: bool) -> Result<&'a SipStr, ParseError> {
        self.optional_single(name, list_check)?
            .ok_or_else(|| ParseError::bad(format!("missing {name}")))
    }
}

/// The headers the checks look at, found in one pass over the list.
#[derive(Default)]
struct Found<'a> {
    via: Slot<'a>,
    from: Slot<'a>,
    to: Slot<'a>,
    call_id: Slot<'a>,
    cseq: Slot<'a>,
    max_forwards: Slot<'a>,
    expires: Slot<'a>,
    contact: bool,
}

impl<'a> Found<'a> {
    fn scan(headers: &'a Headers) -> Found<'a> {
        let mut found = Found::default();
        for header in headers.iter() {
            let slot = match header.name {
                HeaderName::Via => &mut found.via,
                HeaderName::From => &mut found.from,
                HeaderName::To => &mut found.to,
                HeaderName::CallId => &mut found.call_id,
                HeaderName::CSeq => &mut found.cseq,
                HeaderName::MaxForwards => &mut found.max_forwards,
                HeaderName::Expires => &mut found.expires,
                HeaderName::Contact => {
                    found.contact = true;
                    continue;
                }
                _ => continue,
            };
            slot.add(&header.value);
        }
        found
    }

    /// Reports every missing mandatory header at once (RFC 4475 §3.3.1 lacks three).
    fn check_present(&self) -> Result<(), ParseError> {
        let mandatory = [
            (&self.via, "Via"),
            (&self.from, "From"),
            (&self.to, "To"),
            (&self.call_id, "Call-ID"),
            (&self.cseq, "CSeq"),
        ];
        if mandatory.iter().all(|(slot, _)| slot.lines > 0) {
            return Ok(());
        }
        let missing: Vec<&str> = mandatory
            .iter()
            .filter(|(slot, _)| slot.lines == 0)
            .map(|(_, label)| *label)
            .collect();
        Err(ParseError::bad(format!("missing {}", missing.join(", "))))
    }

    /// Checks From, To, Call-ID and CSeq; returns From and To as parsed (kept with the
    /// message) and the CSeq.
    fn check_dialog_headers(&self) -> Result<Dialog, ParseError> {
        let from_line = self.from.single("From", true)?;
        let from = NameAddr::parse(from_line).map_err(|e| prefixed("From", e))?;
        let to_line = self.to.single("To", true)?;
        let to = NameAddr::parse(to_line).map_err(|e| prefixed("To", e))?;
        let call_id = trim_wsp(self.call_id.single("Call-ID", false)?);
        // `callid = word ["@" word]`: no whitespace, and no comma (which would mean a list).
        if call_id.is_empty() || call_id.bytes().any(|b| is_wsp(b) || b == b',') {
            return Err(ParseError::bad(format!(
                "invalid Call-ID `{}`",
                call_id.escape_debug()
            )));
        }
        let cseq = CSeq::parse(self.cseq.single("CSeq", true)?).map_err(|e| prefixed("CSeq", e))?;
        Ok(Dialog {
            from: Kept::new(from_line, from),
            to: Kept::new(to_line, to),
            cseq,
        })
    }
}

/// What `check_dialog_headers` parsed.
struct Dialog {
    from: Kept<NameAddr>,
    to: Kept<NameAddr>,
    cseq: CSeq,
}

/// Checks a parsed request; returns the typed headers it parsed on the way, for the
/// accessors to reuse.
pub(crate) fn check_request(
    request: &Request,
    limits: &ParseLimits,
) -> Result<ParsedHeaders, ParseError> {
    let headers = &request.headers;
    let found = Found::scan(headers);
    found.check_present()?;
    let top_via = check_vias(headers, limits.max_vias)?;
    let Dialog { from, to, cseq } = found.check_dialog_headers()?;
    // An extension method whose CSeq disagrees still parses, so the server can
    // answer 501 rather than 400 (RFC 4475 §3.1.2.18).
    if cseq.method != request.method && !matches!(request.method, Method::Other(_)) {
        return Err(ParseError::bad(format!(
            "CSeq method {} does not match the request method {}",
            cseq.method, request.method
        )));
    }
    if let Some(value) = found.max_forwards.optional_single("Max-Forwards", true)?
        && parse_digits(trim_wsp(value)).is_none_or(|n| n > MAX_FORWARDS_LIMIT)
    {
        return Err(ParseError::bad(format!("invalid Max-Forwards `{value}`")));
    }
    if let Some(value) = found.expires.optional_single("Expires", true)?
        && parse_u32(trim_wsp(value)).is_none()
    {
        return Err(ParseError::bad("invalid or out-of-range Expires"));
    }
    let contacts = if found.contact {
        Some(check_contacts(headers)?)
    } else {
        None
    };
    Ok(ParsedHeaders {
        from: Some(from),
        to: Some(to),
        top_via,
        contacts,
    })
}

/// Checks a parsed response; returns the typed headers it parsed on the way.
pub(crate) fn check_response(response: &Response) -> Result<ParsedHeaders, ParseError> {
    let headers = &response.headers;
    let found = Found::scan(headers);
    found.check_present()?;
    // A response never carries more Via entries than the request it answers, which
    // was bounded when it went out; no further limit is needed here.
    let top_via = check_vias(headers, usize::MAX)?;
    let Dialog { from, to, .. } = found.check_dialog_headers()?;
    Ok(ParsedHeaders {
        from: Some(from),
        to: Some(to),
        top_via,
        contacts: None,
    })
}

fn prefixed(header: &str, e: ParseError) -> ParseError {
    ParseError {
        kind: e.kind,
        reason: format!("{header}: {}", e.reason).into(),
    }
}

/// Checks every Via entry; returns the top one (kept with the first Via line).
fn check_vias(headers: &Headers, max_vias: usize) -> Result<Option<Kept<Via>>, ParseError> {
    let mut count = 0usize;
    let mut top = None;
    for line in headers.get_all(&HeaderName::Via) {
        for value in TopLevelSplit::new(line, b',') {
            if value.is_empty() {
                return Err(ParseError::bad("empty Via value"));
            }
            let via = Via::parse_in(line, value)?;
            if top.is_none() {
                top = Some(Kept::new(line, via));
            }
            count += 1;
            if count > max_vias {
                return Err(ParseError::bad(format!("more than {max_vias} Via entries")));
            }
        }
    }
    Ok(top)
}

/// The checks of `ContactValue::parse_all`, keeping the values and the lines they
/// came from.
fn check_contacts(headers: &Headers) -> Result<(Vec<SipStr>, ContactValue), ParseError> {
    let mut lines = Vec::with_capacity(1);
    let mut addrs = Vec::with_capacity(1);
    let mut stars = 0usize;
    for line in headers.get_all(&HeaderName::Contact) {
        lines.push(line.clone());
        for value in TopLevelSplit::new(line, b',').filter(|v| !v.is_empty()) {
            if value == "*" {
                stars += 1;
            } else {
                addrs.push(NameAddr::parse_in(line, value).map_err(|e| prefixed("Contact", e))?);
            }
        }
    }
    if stars > 0 {
        if stars > 1 || !addrs.is_empty() {
            return Err(ParseError::bad("Contact: * must be the only Contact value"));
        }
        return Ok((lines, ContactValue::Star));
    }
    Ok((lines, ContactValue::Addrs(addrs)))
}
