//! Any bytes through `Message::parse`, then every typed header accessor, on what parsed
//! and on the header lines a rejected request still yields:
//! - what the parser validated (Via, From, To, CSeq, Contact, Max-Forwards, Expires of a
//!   request; Via, From, To, CSeq of a response) must read back through the accessors;
//! - every value a typed parser accepts (Via, name-addr headers, CSeq, Contact,
//!   Authorization credentials) is written back and must parse to the same value;
//! - list headers split into trimmed, non-empty values, and removing the first value
//!   leaves exactly the others (what a proxy does to Via and Route);
//! - responses built from the request or from the rejected lines parse, with a To tag
//!   added only when the To had none;
//! - the accessors of the re-parsed serialisation give the same answers;
//! - what the parser kept for the accessors (From, To, top Via, Contact) equals a fresh
//!   parse of the header lines.
#![no_main]
use bytes::Bytes;
use herald_sip::{
    CSeq, ContactValue, HeaderName, Headers, Message, NameAddr, Request, Response, SipStr, Uri,
    Via, message::ParseLimits, response,
};
use libfuzzer_sys::fuzz_target;

/// Headers whose values are `name-addr / addr-spec` with header parameters.
const ADDRESS_HEADERS: [&str; 9] = [
    "Route",
    "Record-Route",
    "Path",
    "Refer-To",
    "Referred-By",
    "Reply-To",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Service-Route",
];

fuzz_target!(|data: &[u8]| {
    match Message::parse(Bytes::copy_from_slice(data), &ParseLimits::default()) {
        Ok(message) => {
            check_headers(message.headers());
            match &message {
                Message::Request(request) => check_request(request),
                Message::Response(response) => check_response(response),
            }
        }
        Err(rejected) => {
            if let Some(headers) = rejected.headers {
                check_headers(&headers);
                let answer = response::from_headers(&headers, 400, "Bad Request", Some("t1"));
                // Only a well-formed request's headers are sure to make a parseable
                // response; the others must just not panic when written.
                let _ = answer.to_bytes();
            }
        }
    }
});

/// Writing can lengthen a message (long header names, Content-Length added), so what is
/// written back is read with room beyond the size and header count the input met.
const ROOMY: ParseLimits = ParseLimits {
    max_message_size: usize::MAX,
    max_headers: usize::MAX,
    max_vias: usize::MAX,
};

fn check_request(request: &Request) {
    let cseq = request.cseq().expect("a parsed request has a CSeq");
    let from = request.from().expect("a parsed request has a From").into_owned();
    let to = request.to().expect("a parsed request has a To").into_owned();
    let top = request.top_via().expect("a parsed request has a Via").into_owned();
    let vias = request.vias().expect("a parsed request's Vias parse");
    assert_eq!(vias.first(), Some(&top), "top_via is the first of vias");
    let contacts = request
        .contacts()
        .expect("a parsed request's Contacts parse")
        .into_owned();
    assert_kept_is_fresh(&request.headers, &from, &to, &top);
    assert_eq!(
        ContactValue::parse_all(&request.headers.values(&HeaderName::Contact)).ok(),
        Some(contacts.clone()),
        "kept Contact values equal a fresh parse"
    );
    let call_id = request.call_id().expect("a parsed request has a Call-ID");
    assert!(!call_id.is_empty());
    let _ = (request.max_forwards(), request.expires());
    if request.headers.get(&HeaderName::MaxForwards).is_some() {
        assert!(request.max_forwards().is_some_and(|n| n <= 255));
    }
    if request.headers.get(&HeaderName::Expires).is_some() {
        assert!(request.expires().is_some());
    }
    if let Some(media) = request.media_type() {
        assert!(!media.contains(';'));
        assert!(request.content_type().is_some_and(|c| c.contains(media)));
    }

    for (status, to_tag) in [
        (100, Some("t1")),
        (180, Some("t1")),
        (200, None),
        (486, Some("t2")),
    ] {
        let answer = response::from_request(request, status, None, to_tag);
        let bytes = answer.to_bytes();
        let Ok(Message::Response(parsed)) = Message::parse(bytes.clone(), &ROOMY) else {
            panic!(
                "response {status} to a parsed request refused:\n{}",
                String::from_utf8_lossy(&bytes)
            );
        };
        assert_eq!(parsed.status, status);
        assert_eq!(parsed.cseq().ok(), Some(cseq.clone()));
        assert_eq!(parsed.from().ok().as_deref(), Some(&from));
        assert_eq!(parsed.vias_all(), vias);
        let answered_to = parsed.to().expect("the response's To parses");
        assert!(answered_to.uri.equivalent(&to.uri));
        match (to.tag(), to_tag.filter(|_| status != 100)) {
            (Some(theirs), _) => assert_eq!(answered_to.tag(), Some(theirs)),
            (None, Some(ours)) => assert_eq!(answered_to.tag(), Some(ours)),
            (None, None) => assert_eq!(answered_to.tag(), None),
        }
        let from_lines = response::from_headers(&request.headers, status, "Fuzz", to_tag);
        assert_eq!(from_lines.headers, answer.headers);
    }

    let written = request.to_bytes();
    let Ok(Message::Request(again)) = Message::parse(written.clone(), &ROOMY) else {
        panic!(
            "a written request no longer parses:\n{}",
            String::from_utf8_lossy(&written)
        );
    };
    assert_eq!(again.cseq().ok(), Some(cseq));
    assert_eq!(again.from().ok().as_deref(), Some(&from));
    assert_eq!(again.to().ok().as_deref(), Some(&to));
    assert_eq!(again.vias().ok(), Some(vias));
    assert_eq!(again.contacts().ok().as_deref(), Some(&contacts));
    assert_eq!(again.call_id(), request.call_id());
    assert_eq!(again.max_forwards(), request.max_forwards());
    assert_eq!(again.expires(), request.expires());
    assert_eq!(again.media_type(), request.media_type());
}

fn check_response(response: &Response) {
    let top = response.top_via().expect("a parsed response has a Via").into_owned();
    assert_eq!(response.vias_all().first(), Some(&top));
    let cseq = response.cseq().expect("a parsed response has a CSeq");
    let from = response.from().expect("a parsed response has a From").into_owned();
    let to = response.to().expect("a parsed response has a To").into_owned();
    assert_kept_is_fresh(&response.headers, &from, &to, &top);
    let written = response.to_bytes();
    let Ok(Message::Response(again)) = Message::parse(written.clone(), &ROOMY) else {
        panic!(
            "a written response no longer parses:\n{}",
            String::from_utf8_lossy(&written)
        );
    };
    assert_eq!(again.cseq().ok(), Some(cseq));
    assert_eq!(again.from().ok().as_deref(), Some(&from));
    assert_eq!(again.to().ok().as_deref(), Some(&to));
    assert_eq!(again.top_via().ok().as_deref(), Some(&top));
}

/// The values the parser kept for the accessors are those a fresh parse of the lines gives.
fn assert_kept_is_fresh(headers: &Headers, from: &NameAddr, to: &NameAddr, top: &Via) {
    let line = |name| headers.get(&name).expect("validated header present");
    assert_eq!(NameAddr::parse(line(HeaderName::From)).ok().as_ref(), Some(from));
    assert_eq!(NameAddr::parse(line(HeaderName::To)).ok().as_ref(), Some(to));
    let first_via = headers.values(&HeaderName::Via).into_iter().next();
    assert_eq!(first_via.and_then(|v| Via::parse(&v).ok()).as_ref(), Some(top));
}

/// Every Via of a response (the crate has `vias` on requests only).
trait AllVias {
    fn vias_all(&self) -> Vec<Via>;
}
impl AllVias for Response {
    fn vias_all(&self) -> Vec<Via> {
        self.headers
            .values(&HeaderName::Via)
            .iter()
            .map(|v| Via::parse(v).expect("a parsed response's Vias parse"))
            .collect()
    }
}

/// The accessors that take a header list or a single value, on every header present.
fn check_headers(headers: &Headers) {
    let mut seen: Vec<&HeaderName> = Vec::new();
    for header in headers.iter() {
        if seen.contains(&&header.name) {
            continue;
        }
        seen.push(&header.name);
        let name = &header.name;
        let values = check_list(headers, name);
        match name {
            HeaderName::Via => values.iter().for_each(check_via),
            HeaderName::From | HeaderName::To => {
                if let Some(first) = headers.get(name) {
                    check_name_addr(first);
                }
            }
            HeaderName::Contact => check_contacts(&values),
            HeaderName::CSeq => {
                if let Some(first) = headers.get(name) {
                    check_cseq(first);
                }
            }
            HeaderName::Authorization | HeaderName::ProxyAuthorization => {
                headers.get_all(name).for_each(check_credentials);
            }
            HeaderName::RecordRoute
            | HeaderName::Route
            | HeaderName::Path
            | HeaderName::ReferTo
            | HeaderName::ReferredBy
            | HeaderName::ReplyTo => values.iter().for_each(check_name_addr),
            HeaderName::Other(other)
                if ADDRESS_HEADERS
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(other)) =>
            {
                values.iter().for_each(check_name_addr)
            }
            _ => {}
        }
    }
}

/// `values` splits into trimmed, non-empty elements; `remove_first_value` takes the
/// first of them and leaves the rest.
fn check_list(headers: &Headers, name: &HeaderName) -> Vec<SipStr> {
    let values = headers.values(name);
    for value in &values {
        assert!(!value.is_empty(), "{name}: empty value in {values:?}");
        assert_eq!(value.trim_matches([' ', '\t']), value.as_str());
    }
    assert!(headers.count(name) >= 1);
    assert_eq!(headers.get(name), headers.get_all(name).next());
    let mut popped = headers.clone();
    let first = popped.remove_first_value(name);
    assert_eq!(
        first.as_ref(),
        values.first(),
        "{name}: remove_first_value vs values {values:?}"
    );
    assert_eq!(
        popped.values(name),
        values.get(1..).unwrap_or_default(),
        "{name}: the values left after remove_first_value"
    );
    values
}

fn check_via(value: &SipStr) {
    let Ok(via) = Via::parse(value) else {
        return;
    };
    let _ = (
        via.branch(),
        via.rfc3261_branch(),
        via.received(),
        via.maddr(),
    );
    if let Some(rport) = via.params.get("rport") {
        // An accepted rport value is a port number: it must read as one.
        assert_eq!(
            via.rport().map(|p| p.is_some()),
            Some(rport.value.is_some())
        );
    }
    if via.params.value("ttl").is_some() {
        assert!(via.ttl().is_some(), "an accepted ttl reads as a number");
    }
    let written = via.to_string();
    let again = Via::parse(&SipStr::from(written.clone()))
        .unwrap_or_else(|e| panic!("Via {value:?} written as {written:?} refused: {e}"));
    assert_eq!(again, via, "{written}");
}

fn check_name_addr(value: &SipStr) {
    let Ok(addr) = NameAddr::parse(value) else {
        return;
    };
    let _ = addr.tag();
    for param in addr.params.iter() {
        let _ = param.unquoted();
    }
    check_uri(&addr.uri);
    let written = addr.to_string();
    let again = NameAddr::parse(&SipStr::from(written.clone()))
        .unwrap_or_else(|e| panic!("address {value:?} written as {written:?} refused: {e}"));
    assert_eq!(again.display, addr.display, "{written}");
    assert_eq!(again.params, addr.params, "{written}");
    assert!(again.uri.equivalent(&addr.uri), "{written}");
    assert_eq!(again.uri.aor(), addr.uri.aor(), "{written}");
}

fn check_uri(uri: &Uri) {
    assert!(uri.equivalent(uri));
    let _ = (uri.aor(), uri.user_unescaped(), uri.transport_param());
    for param in uri.params.iter() {
        let _ = param.unquoted();
    }
}

fn check_contacts(values: &[SipStr]) {
    let Ok(contacts) = ContactValue::parse_all(values) else {
        return;
    };
    match &contacts {
        ContactValue::Star => assert_eq!(values.len(), 1),
        ContactValue::Addrs(addrs) => {
            assert_eq!(addrs.len(), values.len());
            values.iter().for_each(check_name_addr);
            let written: Vec<SipStr> = addrs.iter().map(|a| SipStr::from(a.to_string())).collect();
            let again = ContactValue::parse_all(&written)
                .unwrap_or_else(|e| panic!("Contacts written as {written:?} refused: {e}"));
            let ContactValue::Addrs(again) = again else {
                panic!("written addresses read back as *");
            };
            for (a, b) in again.iter().zip(addrs) {
                assert!(a.uri.equivalent(&b.uri));
                assert_eq!((&a.display, &a.params), (&b.display, &b.params));
            }
        }
    }
}

fn check_cseq(value: &SipStr) {
    let Ok(cseq) = CSeq::parse(value) else {
        return;
    };
    let written = cseq.to_string();
    assert_eq!(
        CSeq::parse(&SipStr::from(written.clone())).ok(),
        Some(cseq),
        "{written}"
    );
}

fn check_credentials(value: &SipStr) {
    let Ok(credentials) = herald_auth::parse_credentials(value) else {
        return;
    };
    let hex_len = match credentials.algorithm {
        herald_auth::Algorithm::Md5 => 32,
        herald_auth::Algorithm::Sha256 => 64,
    };
    assert_eq!(credentials.response.len(), hex_len, "{value}");
}
