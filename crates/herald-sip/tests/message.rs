//! Message-level parsing rules beyond the torture files.
use bytes::Bytes;
use herald_sip::{
    HeaderName, Message, Method, ParseErrorKind,
    message::{ParseLimits, Rejected, Request},
};

const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
    Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1\r\n\
    Max-Forwards: 70\r\n\
    To: <sip:bob@example.com>\r\n\
    From: <sip:alice@example.com>;tag=1\r\n\
    Call-ID: abc@pc\r\n\
    CSeq: 1 OPTIONS\r\n\
    Content-Length: 0\r\n\r\n";

fn parse(raw: &str) -> Result<Message, Rejected> {
    Message::parse(Bytes::from(raw.to_owned()), &ParseLimits::default())
}

fn request(raw: &str) -> Request {
    match parse(raw) {
        Ok(Message::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

fn bad(raw: &str, kind: ParseErrorKind) -> Rejected {
    match parse(raw) {
        Err(r) => {
            assert_eq!(r.error.kind, kind, "{}", r.error.reason);
            r
        }
        Ok(m) => panic!("parsed: {m:?}"),
    }
}

#[test]
fn baseline_parses_and_shares_the_buffer() {
    let buf = Bytes::from(OPTIONS);
    let Ok(Message::Request(r)) = Message::parse(buf.clone(), &ParseLimits::default()) else {
        panic!()
    };
    assert_eq!(r.method, Method::Options);
    assert_eq!(r.call_id(), Some("abc@pc"));
    // Zero-copy: the header value points into the received buffer.
    let value = r.headers.get(&HeaderName::CallId).unwrap().as_bytes();
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    assert!(range.contains(&(value.as_ptr() as usize)));
}

#[test]
fn leading_crlfs_are_ignored() {
    assert!(parse(&format!("\r\n\r\n{OPTIONS}")).is_ok());
}

#[test]
fn request_line_rules() {
    assert!(
        parse(&OPTIONS.replacen("SIP/2.0\r\n", "sip/2.0\r\n", 1)).is_ok(),
        "version is case-insensitive"
    );
    bad(
        &OPTIONS.replacen("SIP/2.0\r\n", "SIP/3.0\r\n", 1),
        ParseErrorKind::VersionNotSupported,
    );
    bad(
        &OPTIONS.replacen("SIP/2.0\r\n", "HTTP/1.1\r\n", 1),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replacen(" sip:bob", "\tsip:bob", 1),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replacen("OPTIONS sip:bob@example.com SIP/2.0", "OPTIONS SIP/2.0", 1),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replacen("OPTIONS ", "OPT:IONS ", 1),
        ParseErrorKind::BadRequest,
    );
    bad("garbage\r\n\r\n", ParseErrorKind::BadRequest);
}

#[test]
fn status_line_rules() {
    let ok = OPTIONS.replacen("OPTIONS sip:bob@example.com SIP/2.0", "SIP/2.0 200 OK", 1);
    let Ok(Message::Response(r)) = parse(&ok) else {
        panic!()
    };
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
    let no_sp = OPTIONS.replacen("OPTIONS sip:bob@example.com SIP/2.0", "SIP/2.0 180", 1);
    assert!(parse(&no_sp).is_ok());
    for line in [
        "SIP/2.0 099 Low",
        "SIP/2.0 700 High",
        "SIP/2.0 20 Short",
        "SIP/2.0 2000 Long",
        "SIP/3.0 200 OK",
        "SIP/2.0 2x0 X",
    ] {
        let r = bad(
            &OPTIONS.replacen("OPTIONS sip:bob@example.com SIP/2.0", line, 1),
            ParseErrorKind::Drop,
        );
        assert!(r.headers.is_none());
    }
    // A response missing a mandatory header is dropped too.
    let no_call_id = ok.replace("Call-ID: abc@pc\r\n", "");
    bad(&no_call_id, ParseErrorKind::Drop);
}

#[test]
fn header_syntax() {
    let r = request(&OPTIONS.replace("Max-Forwards: 70", "Max-Forwards  :   70  "));
    assert_eq!(r.max_forwards(), Some(70));
    let r = request(&OPTIONS.replace("Max-Forwards: 70", "X-Folded: a\r\n  b\r\n\tc"));
    assert_eq!(
        r.headers
            .get(&HeaderName::parse(b"x-folded").unwrap())
            .unwrap(),
        "a b c"
    );
    // Fuzzing regression: a continuation line of whitespace only adds nothing.
    let r = request(&OPTIONS.replace("Max-Forwards: 70", "X-Blank: value\r\n \r\n\t"));
    let blank = HeaderName::parse(b"X-Blank").unwrap();
    assert_eq!(r.headers.get(&blank).unwrap(), "value");
    let r = request(&OPTIONS.replace("Max-Forwards: 70", "X-Blank: a\r\n \r\n b"));
    assert_eq!(r.headers.get(&blank).unwrap(), "a b");
    bad(
        &OPTIONS.replace("Max-Forwards: 70", "Bad Name: 70"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("Max-Forwards: 70", "NoColon"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("Max-Forwards: 70", "X: a\rb"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("Max-Forwards: 70\r\n", "X: a\nY: b\r\n"),
        ParseErrorKind::BadRequest,
    );
    bad(
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n",
        ParseErrorKind::BadRequest,
    );
}

#[test]
fn non_utf8_headers_are_rejected_with_the_other_lines_kept() {
    let mut raw = OPTIONS
        .replace("Max-Forwards: 70", "X-Bin: \u{1}")
        .into_bytes();
    let at = raw.iter().position(|&b| b == 1).unwrap();
    raw[at] = 0xff;
    let r = Message::parse(Bytes::from(raw), &ParseLimits::default()).unwrap_err();
    assert_eq!(r.error.kind, ParseErrorKind::BadRequest);
    let headers = r.headers.unwrap();
    assert!(headers.get(&HeaderName::Via).is_some());
    assert!(headers.get(&HeaderName::CSeq).is_some());
    // Every line but the bad one.
    assert_eq!(headers.len(), 6);
    assert!(headers.get(&HeaderName::parse(b"X-Bin").unwrap()).is_none());
}

#[test]
fn mandatory_headers() {
    for name in ["Via", "To", "From", "Call-ID", "CSeq"] {
        let line = OPTIONS.lines().find(|l| l.starts_with(name)).unwrap();
        let r = bad(
            &OPTIONS.replace(&format!("{line}\r\n"), ""),
            ParseErrorKind::BadRequest,
        );
        assert!(r.error.reason.contains(name), "{}", r.error.reason);
        assert!(r.headers.is_some());
    }
    bad(
        &OPTIONS.replace(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>, <sip:x@y>",
        ),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("Call-ID: abc@pc", "Call-ID: a b"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("Call-ID: abc@pc", "Call-ID: a,b"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("Call-ID: abc@pc", "Call-ID:"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 1 options"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &OPTIONS.replace(
            "Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1",
            "Via: SIP/2.0/UDP a, ,SIP/2.0/UDP b",
        ),
        ParseErrorKind::BadRequest,
    );
    // Extension method with a mismatching CSeq parses (the server answers 501).
    assert!(parse(&OPTIONS.replacen("OPTIONS sip", "FOO sip", 1)).is_ok());
    // ... but a known method with a mismatch does not.
    bad(
        &OPTIONS.replacen("OPTIONS sip", "INFO sip", 1),
        ParseErrorKind::BadRequest,
    );
}

#[test]
fn scalar_ranges() {
    let with = |line: &str| OPTIONS.replace("Max-Forwards: 70", line);
    assert_eq!(
        request(&with("Max-Forwards: 255")).max_forwards(),
        Some(255)
    );
    bad(&with("Max-Forwards: 256"), ParseErrorKind::BadRequest);
    bad(&with("Max-Forwards: -1"), ParseErrorKind::BadRequest);
    bad(
        &with("Max-Forwards: 70\r\nMax-Forwards: 70"),
        ParseErrorKind::BadRequest,
    );
    assert_eq!(
        request(&with("Expires: 4294967295")).expires(),
        Some(u32::MAX)
    );
    bad(&with("Expires: 4294967296"), ParseErrorKind::BadRequest);
    bad(&with("Expires: soon"), ParseErrorKind::BadRequest);
    assert_eq!(request(&with("Expires: 0")).expires(), Some(0));
    assert_eq!(request(OPTIONS).expires(), None);
}

#[test]
fn content_length_and_body() {
    let with_body = |cl: &str, body: &str| {
        OPTIONS.replace("Content-Length: 0\r\n\r\n", &format!("{cl}\r\n\r\n{body}"))
    };
    assert_eq!(
        request(&with_body("Content-Length: 3", "abcdef")).body,
        "abc"
    );
    assert_eq!(
        request(&with_body("l: 3\r\nContent-Length: 3", "abc")).body,
        "abc"
    );
    assert_eq!(
        request(&with_body("X-No-Length: 1", "abcdef")).body,
        "abcdef"
    );
    bad(
        &with_body("Content-Length: 7", "abcdef"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &with_body("Content-Length: 3\r\nl: 4", "abcdef"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &with_body("Content-Length: x", "abcdef"),
        ParseErrorKind::BadRequest,
    );
    bad(
        &with_body("Content-Length: 4294967296", "abcdef"),
        ParseErrorKind::BadRequest,
    );
    // Binary bodies are not checked for UTF-8.
    let mut raw = with_body("Content-Length: 2", "").into_bytes();
    raw.extend_from_slice(&[0xff, 0x00]);
    let Ok(Message::Request(r)) = Message::parse(Bytes::from(raw), &ParseLimits::default()) else {
        panic!()
    };
    assert_eq!(&r.body[..], &[0xff, 0x00]);
}

#[test]
fn limits() {
    let limits = ParseLimits {
        max_message_size: 100,
        ..ParseLimits::default()
    };
    let r = Message::parse(Bytes::from(OPTIONS), &limits).unwrap_err();
    assert_eq!(r.error.kind, ParseErrorKind::TooLarge);
    assert_eq!(r.error.status(), Some(513));
    assert!(r.headers.unwrap().get(&HeaderName::Via).is_some());

    let limits = ParseLimits {
        max_headers: 3,
        ..ParseLimits::default()
    };
    let r = Message::parse(Bytes::from(OPTIONS), &limits).unwrap_err();
    assert_eq!(r.error.kind, ParseErrorKind::BadRequest);
    assert_eq!(r.headers.unwrap().len(), 3);

    let many_vias = OPTIONS.replace(
        "Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1",
        "Via: SIP/2.0/UDP a, SIP/2.0/UDP b, SIP/2.0/UDP c",
    );
    let limits = ParseLimits {
        max_vias: 2,
        ..ParseLimits::default()
    };
    assert!(Message::parse(Bytes::from(many_vias.clone()), &limits).is_err());
    assert!(Message::parse(Bytes::from(many_vias), &ParseLimits::default()).is_ok());
}

#[test]
fn accessors_of_built_messages_report_missing_headers() {
    let r = Request::new(
        Method::Options,
        herald_sip::Uri::parse_str("sip:a@b").unwrap(),
    );
    assert!(r.cseq().is_err());
    assert!(r.from().is_err());
    assert!(r.to().is_err());
    assert!(r.top_via().is_err());
    assert_eq!(r.vias().unwrap(), vec![]);
    assert_eq!(r.call_id(), None);
    assert_eq!(r.max_forwards(), None);
    assert_eq!(r.content_type(), None);
    assert_eq!(
        *r.contacts().unwrap(),
        herald_sip::ContactValue::Addrs(vec![])
    );
    assert_eq!(
        &r.to_bytes()[..],
        b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"
    );
}
