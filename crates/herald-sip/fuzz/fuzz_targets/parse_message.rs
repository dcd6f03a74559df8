//! Any bytes: parsing never panics; a parsed request's typed accessors succeed; a
//! parsed message serialises to bytes that parse back to the same message.
#![no_main]
use bytes::Bytes;
use herald_sip::{HeaderName, Message, message::ParseLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(Bytes::copy_from_slice(data), &ParseLimits::default()) else {
        return;
    };
    // Writing can lengthen a message (long header names, Content-Length added), so what
    // is written back may exceed the size and header count the input stayed within.
    let limits = ParseLimits {
        max_message_size: usize::MAX,
        max_headers: usize::MAX,
        ..ParseLimits::default()
    };
    if let Message::Request(request) = &message {
        request.cseq().expect("cseq");
        request.from().expect("from");
        request.to().expect("to");
        request.top_via().expect("top via");
        request.vias().expect("vias");
        request.contacts().expect("contacts");
        let _ = (
            request.max_forwards(),
            request.expires(),
            request.content_type(),
        );
        for to_tag in [None, Some("abc")] {
            let response = herald_sip::response::from_request(request, 200, None, to_tag);
            Message::parse(response.to_bytes(), &limits).expect("a built response parses");
        }
    }
    let written = message.to_bytes();
    let reparsed = Message::parse(written.clone(), &limits).unwrap_or_else(|e| {
        panic!(
            "re-parse failed: {e:?}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    let without_length = |m: &Message| {
        let mut headers = m.headers().clone();
        headers.remove(&HeaderName::ContentLength);
        headers
    };
    assert_eq!(without_length(&message), without_length(&reparsed));
    match (&message, &reparsed) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!(a.method, b.method);
            assert!(a.uri.equivalent(&b.uri), "{} vs {}", a.uri, b.uri);
            assert_eq!(a.body, b.body);
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!(
                (a.status, &a.reason, &a.body),
                (b.status, &b.reason, &b.body)
            );
        }
        _ => panic!("kind changed"),
    }
});
