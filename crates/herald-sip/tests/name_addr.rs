//! name-addr / addr-spec parsing (RFC 3261 §20.10, RFC 4475 §3.1.1.6, §3.1.2.6/13-15).
use herald_sip::{ContactValue, NameAddr, Scheme, SipStr};

fn parse(s: &str) -> Result<NameAddr, herald_sip::ParseError> {
    NameAddr::parse(&SipStr::from(s.to_owned()))
}

fn ok(s: &str) -> NameAddr {
    parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn quoted_display_names() {
    let a = ok(r#""J Rosenberg \\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8"#);
    assert_eq!(a.display.as_deref(), Some(r#"J Rosenberg \""#));
    assert_eq!(a.tag(), Some("98asjd8"));
    let a = ok(r#""" <sip:a@b>"#);
    assert_eq!(a.display.as_deref(), Some(""));
    let a = ok(r#""Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423"#);
    assert_eq!(a.display.as_deref(), Some("Bell, Alexander"));
}

#[test]
fn token_display_names() {
    let a = ok("caller<sip:caller@example.com>;tag=323");
    assert_eq!(a.display.as_deref(), Some("caller"));
    let a = ok("A. Bell   <sip:a.g.bell@example.com>");
    assert_eq!(a.display.as_deref(), Some("A. Bell"));
    let a = ok("<sip:a@b>");
    assert_eq!(a.display, None);
}

#[test]
fn bare_addr_spec_params_are_header_params() {
    let a = ok("sip:+19725552222@gw1.example.net;unknownparam;tag=1");
    assert!(a.params.contains("unknownparam"));
    assert_eq!(a.tag(), Some("1"));
    assert!(a.uri.params.is_empty());
    let a = ok("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
    assert_eq!(a.tag(), Some("1918181833n"));
    let a = ok("<sip:a@b;lr>;tag=x");
    assert!(a.uri.params.contains("lr"));
    assert!(!a.params.contains("lr"));
    let a = ok("isbn:2983792873");
    assert_eq!(a.uri.scheme, Scheme::Other("isbn".into()));
    let a = ok(r#"sip:a@b;+sip.instance="<urn:uuid:1>""#);
    assert_eq!(
        a.params.get("+sip.instance").unwrap().unquoted().unwrap(),
        "<urn:uuid:1>"
    );
}

#[test]
fn torture_errors() {
    // baddn: unquoted display name with non-token characters.
    assert!(parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_err());
    assert!(parse("Watson: Thomas <sip:t.watson@example.org>").is_err());
    // badaspec: LWS inside the brackets.
    assert!(parse(r#""Watson, Thomas" < sip:t.watson@example.org >"#).is_err());
    // quotbal: unterminated quoted string.
    assert!(parse(r#""Mr. J. User <sip:j.user@example.com>"#).is_err());
    // regbadct: a URI with headers must be enclosed in <>.
    assert!(parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
    assert!(
        ok("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")
            .uri
            .headers
            .is_some()
    );
    for bad in [
        "",
        "<sip:a@b",
        "<sip:a@b> junk",
        "<>",
        "\"x\" sip:a@b",
        "sip:a@b c",
        "<sip:a@b>;;",
        "<sip:a@b>;tag=",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn written_form_is_bracketed() {
    let a = ok(r#"sip:a@b;tag=1"#);
    assert_eq!(a.to_string(), "<sip:a@b>;tag=1");
    let a = ok(r#""A \"B\"" <sip:a@b>"#);
    assert_eq!(a.to_string(), r#""A \"B\"" <sip:a@b>"#);
    assert_eq!(ok(&a.to_string()), a);
}

#[test]
fn contact_values() {
    let star = ContactValue::parse_all(&[SipStr::from_static("*")]).unwrap();
    assert_eq!(star, ContactValue::Star);
    let values = [
        SipStr::from_static("<sip:a@b>;expires=60"),
        SipStr::from_static("sip:c@d;q=0.5"),
    ];
    let ContactValue::Addrs(addrs) = ContactValue::parse_all(&values).unwrap() else {
        panic!("star")
    };
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0].params.value("expires"), Some("60"));
    assert_eq!(addrs[1].params.value("q"), Some("0.5"));
    assert_eq!(
        ContactValue::parse_all(&[]).unwrap(),
        ContactValue::Addrs(vec![])
    );
    assert!(
        ContactValue::parse_all(&[SipStr::from_static("*"), SipStr::from_static("<sip:a@b>")])
            .is_err()
    );
    assert!(ContactValue::parse_all(&[SipStr::from_static("<sip:a@b")]).is_err());
}
