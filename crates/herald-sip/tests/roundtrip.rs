//! parse(to_bytes(parse(x))) == parse(x), modulo the Content-Length line, for every
//! torture message that parses.
use bytes::Bytes;
use herald_sip::{HeaderName, Message, message::ParseLimits};
use std::fs;

fn without_content_length(message: &Message) -> Message {
    let mut message = message.clone();
    match &mut message {
        Message::Request(r) => r.headers.remove(&HeaderName::ContentLength),
        Message::Response(r) => r.headers.remove(&HeaderName::ContentLength),
    }
    message
}

#[test]
fn torture_messages_round_trip() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/rfc4475"
    );
    let mut round_tripped = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "dat") {
            continue;
        }
        let limits = ParseLimits::default();
        let Ok(first) = Message::parse(Bytes::from(fs::read(&path).unwrap()), &limits) else {
            continue;
        };
        let written = first.to_bytes();
        let second = Message::parse(written.clone(), &limits).unwrap_or_else(|e| {
            panic!(
                "{}: {e:?}\n{}",
                path.display(),
                String::from_utf8_lossy(&written)
            )
        });
        assert_eq!(
            without_content_length(&first),
            without_content_length(&second),
            "{}",
            path.display()
        );
        // The written Content-Length is the body's length, exactly once.
        let lengths: Vec<&str> = second
            .headers()
            .get_all(&HeaderName::ContentLength)
            .map(|v| v.as_str())
            .collect();
        let body_len = match &second {
            Message::Request(r) => r.body.len(),
            Message::Response(r) => r.body.len(),
        };
        assert_eq!(lengths, [body_len.to_string()], "{}", path.display());
        // Serialisation is stable after one pass.
        assert_eq!(second.to_bytes(), written, "{}", path.display());
        round_tripped += 1;
    }
    // 13 valid messages plus the ones that parse so the server can answer them.
    assert_eq!(round_tripped, 29);
}

#[test]
fn serialisation_uses_long_names_and_replaces_content_length() {
    let raw = "OPTIONS sip:a@example.com SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nt: <sip:a@example.com>\r\n\
               f: <sip:b@example.com>;tag=1\r\ni: abc\r\nCSeq: 1 OPTIONS\r\nl: 3\r\nX-Custom: kept as is\r\n\r\nabc";
    let message = Message::parse(Bytes::from(raw), &ParseLimits::default()).unwrap();
    let Message::Request(mut request) = message else {
        panic!("request")
    };
    request.body = Bytes::from_static(b"hello");
    let written = String::from_utf8(request.to_bytes().to_vec()).unwrap();
    assert_eq!(
        written,
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@example.com>\r\n\
         From: <sip:b@example.com>;tag=1\r\nCall-ID: abc\r\nCSeq: 1 OPTIONS\r\nX-Custom: kept as is\r\n\
         Content-Length: 5\r\n\r\nhello"
    );
    let mut reused = b"prefix".to_vec();
    request.write_to(&mut reused);
    assert!(reused.starts_with(b"prefixOPTIONS "));
}

#[test]
fn values_built_in_code_cannot_inject_lines() {
    let mut request = herald_sip::Request::new(
        herald_sip::Method::Message,
        herald_sip::Uri::parse_str("sip:a@b").unwrap(),
    );
    request
        .headers
        .push(HeaderName::Subject, "hi\r\nVia: SIP/2.0/UDP evil");
    let written = request.to_bytes();
    let text = String::from_utf8(written.to_vec()).unwrap();
    assert_eq!(
        text,
        "MESSAGE sip:a@b SIP/2.0\r\nSubject: hi  Via: SIP/2.0/UDP evil\r\nContent-Length: 0\r\n\r\n"
    );
    let response = herald_sip::response::from_request(&request, 200, Some("OK\nX: y"), None);
    let text = String::from_utf8(response.to_bytes().to_vec()).unwrap();
    assert_eq!(text, "SIP/2.0 200 OK X: y\r\nContent-Length: 0\r\n\r\n");
}
