//! URI parsing, serialisation, AOR keys and RFC 3261 §19.1.4 equivalence.
use herald_sip::{Host, Scheme, Uri};
use std::net::IpAddr;

fn uri(s: &str) -> Uri {
    Uri::parse_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn equivalent(a: &str, b: &str) -> bool {
    let (a, b) = (uri(a), uri(b));
    let forward = a.equivalent(&b);
    assert_eq!(forward, b.equivalent(&a), "equivalence must be symmetric");
    forward
}

#[test]
fn sip_uri_parts() {
    let u = uri(
        "sips:alice:secret@Example.COM:5061;transport=TCP;lr;maddr=10.0.0.1?subject=hi&priority=urgent",
    );
    assert_eq!(u.scheme, Scheme::Sips);
    assert_eq!(u.user.as_deref(), Some("alice"));
    assert_eq!(u.password.as_deref(), Some("secret"));
    assert_eq!(u.host, Host::Domain("Example.COM".into()));
    assert_eq!(u.port, Some(5061));
    assert_eq!(u.transport_param().as_deref(), Some("tcp"));
    assert!(u.params.contains("lr"));
    assert_eq!(u.params.value("maddr"), Some("10.0.0.1"));
    assert_eq!(u.headers.as_deref(), Some("subject=hi&priority=urgent"));
    assert_eq!(u.aor().as_deref(), Some("alice@example.com"));
    assert_eq!(
        u.to_string(),
        "sips:alice:secret@Example.COM:5061;transport=TCP;lr;maddr=10.0.0.1?subject=hi&priority=urgent"
    );
}

#[test]
fn scheme_is_case_insensitive() {
    assert_eq!(uri("SIP:a@b").scheme, Scheme::Sip);
    assert_eq!(uri("Tel:+1234").scheme, Scheme::Tel);
    assert!(equivalent("SIP:a@b", "sip:a@b"));
}

#[test]
fn ip_hosts() {
    let v6 = uri("sip:bob@[2001:DB8::10]:5070;transport=tcp");
    assert_eq!(v6.host, Host::Ip("2001:db8::10".parse::<IpAddr>().unwrap()));
    assert_eq!(v6.port, Some(5070));
    assert_eq!(v6.host.to_string(), "[2001:db8::10]");
    assert_eq!(v6.aor().as_deref(), Some("bob@[2001:db8::10]"));
    assert_eq!(uri("sip:[::1]").host.to_string(), "[::1]");
    let v4 = uri("sip:192.0.2.1:5060");
    assert_eq!(v4.host, Host::Ip("192.0.2.1".parse::<IpAddr>().unwrap()));
    assert_eq!(v4.user, None);
    assert_eq!(v4.aor().as_deref(), Some("192.0.2.1"));
    assert!(equivalent(
        "sip:a@[2001:db8::1]",
        "sip:a@[2001:0db8:0:0::1]"
    ));
}

#[test]
fn malformed_uris_are_errors() {
    for bad in [
        "",
        "sip:",
        "nocolon",
        "1sip:a@b",
        "sip:user@example.com; lr",
        " sip:a@b",
        "sip:a@b ",
        "<sip:a@b>",
        "sip:a b@c",
        "sip:@example.com",
        "sip:a@",
        "sip:a@b:",
        "sip:a@b:65536",
        "sip:a@b:5x",
        "sip:a@[::1",
        "sip:a@[zz::1]",
        "sip:a@[::1]x",
        "sip:a@256.1.1.1",
        "sip:a@exa mple.com",
        "sip:a@-bad.com",
        "sip:a@b..c",
        "sip:a@b;",
        "sip:a@b;p=",
        "sip:a@b?",
        "sip:a%zz@b",
        "sip:a@b;p=%g1",
        "sip:é@b",
        "sip:a\"@b",
        "tel:",
        "tel:+1 234",
        "tel:abc xyz",
    ] {
        assert!(Uri::parse_str(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn user_part_extends_to_the_last_at() {
    let u = uri("sip:user;par=u%40example.net@example.com");
    assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(u.host, Host::Domain("example.com".into()));
    assert!(u.params.is_empty());
    let u = uri("sip:a?b,c@host;x=1");
    assert_eq!(u.user.as_deref(), Some("a?b,c"));
    assert_eq!(u.params.value("x"), Some("1"));
}

#[test]
fn escapes_in_user_and_params() {
    let u = uri("sip:null-%00-null@example.com");
    assert_eq!(u.user_unescaped().unwrap().as_ref(), b"null-\0-null");
    let u = uri("sip:%C3%A9t%C3%A9@example.com");
    assert_eq!(u.aor().as_deref(), Some("été@example.com"));
    // Not UTF-8 once unescaped: no AOR key rather than a lossy one.
    assert_eq!(uri("sip:%FF@example.com").aor(), None);
    assert_eq!(
        uri("sip:%FF@example.com")
            .user_unescaped()
            .unwrap()
            .as_ref(),
        [0xff]
    );
}

#[test]
fn tel_and_other_schemes() {
    let t = uri("tel:+1-201-555-0123;phone-context=example.com");
    assert_eq!(t.scheme, Scheme::Tel);
    assert_eq!(t.user.as_deref(), Some("+1-201-555-0123"));
    assert_eq!(t.params.value("phone-context"), Some("example.com"));
    assert_eq!(t.aor(), None);
    assert!(equivalent("tel:+1-201-555-0123", "tel:+12015550123"));
    assert!(!equivalent("tel:+1-201-555-0123", "tel:+12015550124"));

    let o = uri("urn:service:sos");
    assert_eq!(o.scheme, Scheme::Other("urn".into()));
    assert_eq!(o.opaque, "service:sos");
    assert_eq!(o.to_string(), "urn:service:sos");
    assert!(equivalent("URN:service:sos", "urn:service:sos"));
    assert!(!equivalent("urn:service:sos", "urn:service:SOS"));
    assert!(!equivalent("urn:service:sos", "sip:service@sos"));
}

/// The examples of RFC 3261 §19.1.4.
#[test]
fn rfc3261_equivalence_examples() {
    assert!(equivalent(
        "sip:%61lice@atlanta.com;transport=TCP",
        "sip:alice@AtLanTa.CoM;Transport=tcp"
    ));
    assert!(equivalent(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;newparam=5"
    ));
    assert!(equivalent(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;security=on"
    ));
    assert!(equivalent(
        "sip:carol@chicago.com;newparam=5",
        "sip:carol@chicago.com;security=on"
    ));
    assert!(equivalent(
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
    ));
    assert!(equivalent(
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
    ));

    assert!(!equivalent(
        "SIP:ALICE@AtLanTa.CoM;Transport=udp",
        "sip:alice@AtLanTa.CoM;Transport=UDP"
    ));
    assert!(!equivalent("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert!(!equivalent(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com;transport=udp"
    ));
    assert!(!equivalent(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com:6000;transport=tcp"
    ));
    assert!(!equivalent(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com?Subject=next%20meeting"
    ));
    assert!(!equivalent(
        "sip:bob@phone21.boxesbybob.com",
        "sip:bob@192.0.2.4"
    ));
    assert!(!equivalent(
        "sip:carol@chicago.com;security=on",
        "sip:carol@chicago.com;security=off"
    ));
    assert!(!equivalent("sip:a@b", "sips:a@b"));
}

#[test]
fn escape_equivalence_follows_the_reserved_set() {
    assert!(equivalent(
        "sip:%75se%72@example.com",
        "sip:user@example.com"
    ));
    assert!(equivalent(
        "sip:cal%6Cer@h;%6C%72;n%61me=v%61lue%25%34%31",
        "sip:caller@h;lr;name=value%2541"
    ));
    // `;` escaped and unescaped are different characters of the user part.
    assert!(!equivalent("sip:a%3Bb@h", "sip:a;b@h"));
    assert!(equivalent("sip:a%3bb@h", "sip:a%3Bb@h"));
    // Users compare case-sensitively, parameter values do not.
    assert!(!equivalent("sip:Alice@h", "sip:alice@h"));
    assert!(equivalent(
        "sip:a@h;maddr=EXAMPLE.com",
        "sip:a@h;maddr=example.com"
    ));
    assert!(!equivalent("sip:a@h;user=phone", "sip:a@h"));
    assert!(!equivalent("sip:a@h;ttl=1", "sip:a@h"));
    assert!(!equivalent("sip:a@h;lr", "sip:a@h;lr=on"));
    assert!(!equivalent("sip:a:pw@h", "sip:a@h"));
}

/// Fuzzing regression: a parameter name given twice made a URI unequal to itself.
#[test]
fn duplicate_parameters_keep_equivalence_reflexive() {
    let u = uri("sip:a:b@example.org;tag=1;par=x;VVr;par=y");
    assert!(u.equivalent(&u));
    assert!(u.equivalent(&uri(&u.to_string())));
    assert!(equivalent("sip:a@h;p=1;p=2", "sip:a@h;p=1"));
    assert!(!equivalent("sip:a@h;p=1;p=2", "sip:a@h;p=2"));
}

/// Fuzzing regression: the same for tel URIs.
#[test]
fn duplicate_tel_parameters_keep_equivalence_reflexive() {
    let t = uri("tel:+1-201-555-0123;ph555-0123;phone-context=example.tel:+0;phone-context=x");
    assert!(t.equivalent(&t));
    assert!(equivalent("tel:+1;a=1;b=2", "tel:+1;B=2;a=1"));
    assert!(!equivalent("tel:+1;a=1;a=2", "tel:+1;a=1;a=1"));
    assert!(!equivalent("tel:+1;a=1", "tel:+1"));
}

/// Comparing URIs with very many parameters stays fast (a quadratic comparison of a
/// 60 KB URI would take minutes) and still sees a difference in the last one.
#[test]
fn many_parameters_compare_in_near_linear_time() {
    let params: String = (0..20_000).map(|i| format!(";p{i}={i}")).collect();
    let a = uri(&format!("sip:a@h{params}"));
    let b = uri(&format!("sip:a@h{params};transport=tcp"));
    let c = uri(&format!(
        "sip:a@h{};p19999=x",
        &params[..params.len() - ";p19999=19999".len()]
    ));
    let started = std::time::Instant::now();
    assert!(a.equivalent(&a));
    assert!(!a.equivalent(&b));
    assert!(!a.equivalent(&c));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
