//! Header names and the header list.
use herald_sip::{Header, HeaderName, Headers, SipStr};
use std::collections::HashSet;

#[test]
fn names_compact_forms_and_case() {
    let pairs = [
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("e", "Content-Encoding"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("f", "From"),
        ("s", "Subject"),
        ("k", "Supported"),
        ("t", "To"),
        ("v", "Via"),
        ("o", "Event"),
        ("u", "Allow-Events"),
        ("r", "Refer-To"),
        ("b", "Referred-By"),
        ("x", "Session-Expires"),
        ("y", "Identity"),
        ("a", "Accept-Contact"),
        ("j", "Reject-Contact"),
        ("d", "Request-Disposition"),
        ("CALL-id", "Call-ID"),
        ("cseq", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("Sip-Etag", "SIP-ETag"),
        ("mime-version", "MIME-Version"),
    ];
    for (written, canonical) in pairs {
        let name = HeaderName::parse(written.as_bytes()).unwrap();
        assert_eq!(name.as_str(), canonical, "{written}");
        assert_eq!(name, HeaderName::parse(canonical.as_bytes()).unwrap());
    }
    assert_eq!(HeaderName::parse(b"V"), Some(HeaderName::Via));
    assert_eq!(
        HeaderName::parse(b"Proxy-Authorization"),
        Some(HeaderName::ProxyAuthorization)
    );
}

#[test]
fn unknown_names_compare_case_insensitively() {
    let a = HeaderName::parse(b"X-Custom-Thing").unwrap();
    let b = HeaderName::parse(b"x-custom-THING").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_str(), "X-Custom-Thing");
    let mut set = HashSet::new();
    set.insert(a);
    assert!(set.contains(&b));
    assert_eq!(
        HeaderName::parse(b"session-expires").unwrap(),
        HeaderName::parse(b"x").unwrap()
    );
    assert_ne!(
        HeaderName::parse(b"C%6Fntact").unwrap(),
        HeaderName::Contact
    );
    assert_ne!(HeaderName::Via, HeaderName::Route);
    for bad in [&b""[..], b"Bad Name", b"Bad:Name", b"\xff", b"a\"b"] {
        assert_eq!(HeaderName::parse(bad), None, "{bad:?}");
    }
}

fn sample() -> Headers {
    let mut h = Headers::default();
    h.push(
        HeaderName::Via,
        "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
    );
    h.push(HeaderName::Route, "<sip:r1;lr>");
    h.push(HeaderName::Via, "SIP/2.0/UDP c;branch=z9hG4bK3");
    h.push(
        HeaderName::Contact,
        r#""A, B" <sip:a@b;x=1,2>;q=0.1 , <sip:c@d>,"#,
    );
    h
}

#[test]
fn values_split_on_top_level_commas() {
    let h = sample();
    let vias = h.values(&HeaderName::Via);
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1], "SIP/2.0/UDP b;branch=z9hG4bK2");
    let contacts = h.values(&HeaderName::Contact);
    assert_eq!(
        contacts,
        [
            SipStr::from_static(r#""A, B" <sip:a@b;x=1,2>;q=0.1"#),
            SipStr::from_static("<sip:c@d>")
        ]
    );
    assert_eq!(h.count(&HeaderName::Via), 2);
    assert_eq!(h.get_all(&HeaderName::Via).count(), 2);
    assert!(h.values(&HeaderName::Accept).is_empty());
}

#[test]
fn editing() {
    let mut h = sample();
    h.push_front(HeaderName::Via, "SIP/2.0/UDP top;branch=z9hG4bK0");
    assert_eq!(h.0[0].value, "SIP/2.0/UDP top;branch=z9hG4bK0");
    h.push_front(HeaderName::RecordRoute, "<sip:rr;lr>");
    assert_eq!(h.0[0].name, HeaderName::RecordRoute);

    assert_eq!(
        h.remove_first_value(&HeaderName::Via).unwrap(),
        "SIP/2.0/UDP top;branch=z9hG4bK0"
    );
    assert_eq!(
        h.remove_first_value(&HeaderName::Via).unwrap(),
        "SIP/2.0/UDP a;branch=z9hG4bK1"
    );
    assert_eq!(
        h.get(&HeaderName::Via).unwrap(),
        "SIP/2.0/UDP b;branch=z9hG4bK2"
    );
    assert_eq!(h.values(&HeaderName::Via).len(), 2);
    assert_eq!(
        h.remove_first_value(&HeaderName::Via).unwrap(),
        "SIP/2.0/UDP b;branch=z9hG4bK2"
    );
    assert_eq!(h.count(&HeaderName::Via), 1);
    assert_eq!(
        h.remove_first_value(&HeaderName::Route).unwrap(),
        "<sip:r1;lr>"
    );
    assert_eq!(h.remove_first_value(&HeaderName::Route), None);

    h.set(HeaderName::Via, "SIP/2.0/TCP only");
    assert_eq!(
        h.values(&HeaderName::Via),
        [SipStr::from_static("SIP/2.0/TCP only")]
    );
    h.set(HeaderName::Expires, "60");
    assert_eq!(
        h.0.last(),
        Some(&Header {
            name: HeaderName::Expires,
            value: "60".into()
        })
    );
    h.remove(&HeaderName::Contact);
    assert!(h.get(&HeaderName::Contact).is_none());
    let before = h.len();
    h.remove(&HeaderName::Contact);
    assert_eq!(h.len(), before);
}

/// Found by the header_accessors fuzz target: `remove_first_value` took an empty
/// element (`Route: ,<sip:a>`, an empty `Subject:`) that `values` skips, so a proxy
/// popping its own Route removed nothing.
#[test]
fn remove_first_value_skips_what_values_skips() {
    let mut h = Headers::default();
    h.push(HeaderName::Subject, "");
    assert_eq!(h.remove_first_value(&HeaderName::Subject), None);
    assert_eq!(h.len(), 1, "a line without values is left alone");

    h.push(HeaderName::Route, " , ,<sip:a;lr> ,, <sip:b;lr>,");
    h.push(HeaderName::Route, "<sip:c;lr>");
    assert_eq!(h.values(&HeaderName::Route).len(), 3);
    assert_eq!(
        h.remove_first_value(&HeaderName::Route).unwrap(),
        "<sip:a;lr>"
    );
    assert_eq!(
        h.values(&HeaderName::Route),
        [
            SipStr::from_static("<sip:b;lr>"),
            SipStr::from_static("<sip:c;lr>")
        ]
    );
    assert_eq!(
        h.remove_first_value(&HeaderName::Route).unwrap(),
        "<sip:b;lr>"
    );
    assert_eq!(
        h.count(&HeaderName::Route),
        1,
        "a line left with only commas goes"
    );

    let mut h = Headers::default();
    h.push(HeaderName::Route, ",");
    h.push(HeaderName::Route, "<sip:d;lr>");
    assert_eq!(
        h.remove_first_value(&HeaderName::Route).unwrap(),
        "<sip:d;lr>"
    );
    assert!(h.values(&HeaderName::Route).is_empty());
}
