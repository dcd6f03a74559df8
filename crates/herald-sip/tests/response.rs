//! Response construction (RFC 3261 §8.2.6) and reason phrases.
use bytes::Bytes;
use herald_sip::{
    HeaderName, Message,
    message::{ParseLimits, Request},
    response::{from_headers, from_request, reason_phrase},
};

const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
    Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2, SIP/2.0/UDP pc.example.com;branch=z9hG4bK1\r\n\
    Record-Route: <sip:proxy.example.com;lr>\r\n\
    Via: SIP/2.0/UDP first.example.com;branch=z9hG4bK0\r\n\
    Max-Forwards: 69\r\n\
    To: Bob <sip:bob@example.com>\r\n\
    From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
    Call-ID: a84b4c76e66710\r\n\
    CSeq: 314159 INVITE\r\n\
    Contact: <sip:alice@pc.example.com>\r\n\
    Content-Length: 0\r\n\r\n";

fn request(raw: &str) -> Request {
    match Message::parse(Bytes::from(raw.to_owned()), &ParseLimits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn copies_the_right_headers() {
    let req = request(INVITE);
    let resp = from_request(&req, 486, None, Some("xyz"));
    assert_eq!(resp.status, 486);
    assert_eq!(resp.reason, "Busy Here");
    let names: Vec<&str> = resp.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Via",
            "Via",
            "To",
            "From",
            "Call-ID",
            "CSeq",
            "Content-Length"
        ]
    );
    let vias = resp.headers.values(&HeaderName::Via);
    assert_eq!(vias.len(), 3);
    assert!(vias[0].contains("proxy.example.com") && vias[2].contains("first.example.com"));
    assert_eq!(
        resp.headers.get(&HeaderName::To).unwrap(),
        "Bob <sip:bob@example.com>;tag=xyz"
    );
    assert_eq!(
        resp.headers.get(&HeaderName::From),
        req.headers.get(&HeaderName::From)
    );
    assert_eq!(resp.headers.get(&HeaderName::ContentLength).unwrap(), "0");
    assert!(resp.headers.get(&HeaderName::Contact).is_none());
    assert!(resp.headers.get(&HeaderName::RecordRoute).is_none());
    assert!(resp.body.is_empty());
    // What goes on the wire parses back as a response with the same fields.
    let Ok(Message::Response(parsed)) = Message::parse(resp.to_bytes(), &ParseLimits::default())
    else {
        panic!("written response does not parse")
    };
    assert_eq!(parsed.cseq().unwrap(), req.cseq().unwrap());
    assert_eq!(parsed.top_via().unwrap(), req.top_via().unwrap());
    assert_eq!(parsed.to().unwrap().tag(), Some("xyz"));
}

#[test]
fn to_tag_rules() {
    let req = request(INVITE);
    // No tag on 100 Trying.
    let trying = from_request(&req, 100, None, Some("xyz"));
    assert_eq!(
        trying.headers.get(&HeaderName::To).unwrap(),
        "Bob <sip:bob@example.com>"
    );
    assert_eq!(trying.reason, "Trying");
    // An existing tag is kept, not doubled.
    let tagged = request(&INVITE.replace(
        "To: Bob <sip:bob@example.com>",
        "To: <sip:bob@example.com>;tag=old",
    ));
    let resp = from_request(&tagged, 200, Some("Fine"), Some("new"));
    assert_eq!(
        resp.headers.get(&HeaderName::To).unwrap(),
        "<sip:bob@example.com>;tag=old"
    );
    assert_eq!(resp.reason, "Fine");
    // A bare addr-spec gets the tag as a header parameter.
    let bare = request(&INVITE.replace("To: Bob <sip:bob@example.com>", "t: sip:bob@example.com"));
    let resp = from_request(&bare, 200, None, Some("t1"));
    assert_eq!(resp.to().unwrap().tag(), Some("t1"));
    assert!(resp.to().unwrap().uri.params.is_empty());
    // A valueless `tag` is left alone rather than doubled.
    let flag = request(&INVITE.replace(
        "To: Bob <sip:bob@example.com>",
        "To: <sip:bob@example.com>;tag",
    ));
    let resp = from_request(&flag, 200, None, Some("t2"));
    assert_eq!(
        resp.headers.get(&HeaderName::To).unwrap(),
        "<sip:bob@example.com>;tag"
    );
    // No tag asked for: none added.
    assert_eq!(
        from_request(&req, 404, None, None).to().unwrap().tag(),
        None
    );
}

#[test]
fn from_headers_of_a_rejected_request() {
    let raw = INVITE.replace("CSeq: 314159 INVITE", "CSeq: 314159 OPTIONS");
    let rejected = Message::parse(Bytes::from(raw), &ParseLimits::default()).unwrap_err();
    assert_eq!(rejected.error.status(), Some(400));
    let headers = rejected.headers.unwrap();
    let resp = from_headers(&headers, 400, &rejected.error.reason, Some("abc"));
    assert_eq!(resp.status, 400);
    assert!(resp.reason.contains("CSeq"));
    assert_eq!(resp.headers.values(&HeaderName::Via).len(), 3);
    assert_eq!(
        resp.headers.get(&HeaderName::CSeq).unwrap(),
        "314159 OPTIONS"
    );
    assert_eq!(resp.to().unwrap().tag(), Some("abc"));
    // An unparseable To is copied as is.
    let mut broken = headers.clone();
    broken.set(HeaderName::To, "\"unterminated <sip:x@y>");
    let resp = from_headers(&broken, 400, "Bad To", Some("abc"));
    assert_eq!(
        resp.headers.get(&HeaderName::To).unwrap(),
        "\"unterminated <sip:x@y>"
    );
}

#[test]
fn reason_phrases() {
    let expected = [
        (100, "Trying"),
        (180, "Ringing"),
        (200, "OK"),
        (202, "Accepted"),
        (401, "Unauthorized"),
        (405, "Method Not Allowed"),
        (406, "Not Acceptable"),
        (407, "Proxy Authentication Required"),
        (408, "Request Timeout"),
        (410, "Gone"),
        (412, "Conditional Request Failed"),
        (413, "Request Entity Too Large"),
        (415, "Unsupported Media Type"),
        (416, "Unsupported URI Scheme"),
        (417, "Unknown Resource-Priority"),
        (420, "Bad Extension"),
        (423, "Interval Too Brief"),
        (480, "Temporarily Unavailable"),
        (481, "Call/Transaction Does Not Exist"),
        (482, "Loop Detected"),
        (483, "Too Many Hops"),
        (489, "Bad Event"),
        (491, "Request Pending"),
        (494, "Security Agreement Required"),
        (501, "Not Implemented"),
        (505, "Version Not Supported"),
        (513, "Message Too Large"),
        (603, "Decline"),
        (499, "Client Error"),
        (299, "Success"),
        (700, "Unknown"),
    ];
    for (code, phrase) in expected {
        assert_eq!(reason_phrase(code), phrase, "{code}");
    }
}
