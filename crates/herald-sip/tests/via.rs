//! Via parsing (RFC 3261 §20.42, RFC 4475 §3.1.1.1/§3.1.1.10).
use herald_sip::{Host, SipStr, Via};
use std::net::IpAddr;

fn via(s: &str) -> Via {
    Via::parse(&SipStr::from(s.to_owned())).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn typical_via() {
    let v = via(
        "SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5060",
    );
    assert_eq!(v.protocol, "SIP/2.0");
    assert_eq!(v.transport, "UDP");
    assert_eq!(v.host, Host::Domain("pc33.atlanta.com".into()));
    assert_eq!(v.port, Some(5066));
    assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
    assert!(v.rfc3261_branch());
    assert_eq!(v.received(), Some("192.0.2.1"));
    assert_eq!(v.rport(), Some(Some(5060)));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5060"
    );
}

#[test]
fn lws_around_slashes_and_params() {
    let v = via("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw");
    assert_eq!(v.protocol, "SIP/2.0");
    assert_eq!(v.transport, "UDP");
    assert_eq!(v.host.to_string(), "192.0.2.2");
    assert!(!v.rfc3261_branch());
    let v = via("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8");
    assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8"
    );
}

#[test]
fn ipv6_sent_by_and_flags() {
    let v = via(
        "SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK1;rport;maddr=[2001:db8::1];ttl=16;received=2001:db8::2",
    );
    assert_eq!(v.host, Host::Ip("2001:db8::9".parse::<IpAddr>().unwrap()));
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.rport(), Some(None));
    assert_eq!(v.maddr(), Some("[2001:db8::1]"));
    assert_eq!(v.ttl(), Some(16));
    assert_eq!(v.received(), Some("2001:db8::2"));
    assert_eq!(via("SIP/2.0/UDP h").rport(), None);
}

#[test]
fn unknown_transports_are_upper_cased() {
    assert_eq!(via("SIP/2.0/sctp h").transport, "SCTP");
    assert_eq!(
        via("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en").transport,
        "UNKNOWN"
    );
    assert_eq!(
        via("SIP/2.0/wss df7jal23ls0d.invalid;branch=z9hG4bK1").transport,
        "WSS"
    );
}

#[test]
fn magic_cookie_alone_is_not_an_rfc3261_branch() {
    assert!(!via("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").rfc3261_branch());
    assert!(via("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx").rfc3261_branch());
    assert!(!via("SIP/2.0/UDP 192.0.2.1").rfc3261_branch());
}

#[test]
fn malformed_vias() {
    for bad in [
        "",
        "SIP/2.0",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0 UDP h",
        "SIP//UDP h",
        "SIP/2.0/UDPh",
        "SIP/2.0/UDP 192.0.2.15;;",
        "SIP/2.0/UDP h;branch",
        "SIP/2.0/UDP h;branch=",
        "SIP/2.0/UDP h;rport=99999",
        "SIP/2.0/UDP h;ttl=256",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP h junk",
        "SIP/2.0/UDP h;x=\"open",
    ] {
        assert!(
            Via::parse(&SipStr::from(bad.to_owned())).is_err(),
            "{bad:?} should not parse"
        );
    }
}
