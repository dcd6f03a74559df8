//! Every RFC 4475 torture message, checked against what `EXPECTATIONS.tsv` allows.
use bytes::Bytes;
use herald_sip::{
    ContactValue, HeaderName, Host, Message, Method, ParseErrorKind, Request, Response, Scheme,
    Uri,
    message::{ParseLimits, Rejected},
};
use std::{collections::BTreeMap, fs, path::PathBuf};

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/rfc4475"
    ))
}

fn load(name: &str) -> Bytes {
    let path = dir().join(name);
    Bytes::from(fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn parse(name: &str) -> Result<Message, Rejected> {
    Message::parse(load(name), &ParseLimits::default())
}

fn request(name: &str) -> Request {
    match parse(name) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: expected a request, got {other:?}"),
    }
}

fn response(name: &str) -> Response {
    match parse(name) {
        Ok(Message::Response(r)) => r,
        other => panic!("{name}: expected a response, got {other:?}"),
    }
}

fn rejected(name: &str, kind: ParseErrorKind) -> Rejected {
    match parse(name) {
        Err(rejected) => {
            assert_eq!(
                rejected.error.kind, kind,
                "{name}: {}",
                rejected.error.reason
            );
            assert!(!rejected.error.reason.is_empty());
            rejected
        }
        Ok(message) => panic!("{name}: expected {kind:?}, parsed {message:?}"),
    }
}

/// A rejected request still hands back its header lines so a 400 can be routed.
fn rejected_request(name: &str, kind: ParseErrorKind) -> Rejected {
    let rejected = rejected(name, kind);
    let headers = rejected
        .headers
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no headers"));
    assert!(
        headers.get(&HeaderName::Via).is_some(),
        "{name}: Via not kept"
    );
    rejected
}

fn uri(s: &str) -> Uri {
    Uri::parse_str(s).unwrap()
}

/// The files and classes listed in EXPECTATIONS.tsv.
fn expectations() -> BTreeMap<String, String> {
    let text = fs::read_to_string(dir().join("EXPECTATIONS.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[0].to_owned(), fields[2].to_owned())
        })
        .collect()
}

#[test]
fn every_file_is_covered() {
    let table = expectations();
    let mut files: Vec<String> = fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 49);
    for file in &files {
        let class = table
            .get(file)
            .unwrap_or_else(|| panic!("{file} missing from EXPECTATIONS.tsv"));
        assert!(
            CHECKED.contains(&file.as_str()),
            "{file} ({class}) has no check below"
        );
        // Valid messages must parse; the others are checked one by one below.
        if class == "valid" {
            assert!(parse(file).is_ok(), "{file}: {:?}", parse(file).err());
        }
    }
    assert_eq!(CHECKED.len(), files.len());
}

/// Each file is checked by the test of the same name.
const CHECKED: [&str; 49] = [
    "wsinv.dat",
    "intmeth.dat",
    "esc01.dat",
    "escnull.dat",
    "esc02.dat",
    "lwsdisp.dat",
    "longreq.dat",
    "dblreq.dat",
    "semiuri.dat",
    "transports.dat",
    "mpart01.dat",
    "unreason.dat",
    "noreason.dat",
    "badinv01.dat",
    "clerr.dat",
    "ncl.dat",
    "scalar02.dat",
    "scalarlg.dat",
    "quotbal.dat",
    "ltgtruri.dat",
    "lwsruri.dat",
    "lwsstart.dat",
    "trws.dat",
    "escruri.dat",
    "baddate.dat",
    "regbadct.dat",
    "badaspec.dat",
    "baddn.dat",
    "badvers.dat",
    "mismatch01.dat",
    "mismatch02.dat",
    "bigcode.dat",
    "badbranch.dat",
    "insuf.dat",
    "unkscm.dat",
    "novelsc.dat",
    "unksm2.dat",
    "bext01.dat",
    "invut.dat",
    "regaut01.dat",
    "multi01.dat",
    "mcl01.dat",
    "bcast.dat",
    "zeromf.dat",
    "cparam01.dat",
    "cparam02.dat",
    "regescrt.dat",
    "sdp01.dat",
    "inv2543.dat",
];

// ---- 3.1.1 valid messages ----

#[test]
fn wsinv() {
    let r = request("wsinv.dat");
    assert_eq!(r.method, Method::Invite);
    assert!(
        r.uri
            .equivalent(&uri("sip:vivekg@chair-dnrc.example.com;unknownparam"))
    );
    let to = r.to().unwrap();
    assert_eq!(to.tag(), Some("1918181833n"));
    assert!(to.uri.equivalent(&uri("sip:vivekg@chair-dnrc.example.com")));
    let from = r.from().unwrap();
    assert_eq!(from.display.as_deref(), Some(r#"J Rosenberg \""#));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(r.max_forwards(), Some(68));
    assert_eq!(r.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    let cseq = r.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias = r.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport, "UDP");
    assert_eq!(vias[0].protocol, "SIP/2.0");
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].host, Host::Domain("spindle.example.com".into()));
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].host.to_string(), "192.168.255.111");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(
        r.headers.get(&HeaderName::Subject).map(|s| s.as_str()),
        Some("")
    );
    let unknown = HeaderName::parse(b"NewFangledHeader").unwrap();
    assert_eq!(
        r.headers.get(&unknown).unwrap(),
        "newfangled value continued newfangled value"
    );
    let unusual = HeaderName::parse(b"UnknownHeaderWithUnusualValue").unwrap();
    assert_eq!(r.headers.get(&unusual).unwrap(), ";;,,;;,;");
    let route = r.headers.values(&HeaderName::Route);
    assert_eq!(route.len(), 1);
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].display.as_deref(), Some(r#"Quoted string """#));
    assert_eq!(contacts[0].params.value("newparam"), Some("newvalue"));
    assert!(contacts[0].params.contains("secondparam"));
    assert_eq!(contacts[0].params.value("q"), Some("0.33"));
    assert_eq!(r.content_type(), Some("application/sdp"));
    assert_eq!(r.body.len(), 150);
    assert!(r.body.starts_with(b"v=0\r\n"));
}

#[test]
fn intmeth() {
    let r = request("intmeth.dat");
    assert_eq!(
        r.method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert!(matches!(r.method, Method::Other(_)));
    assert_eq!(
        r.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(r.uri.host, Host::Domain("example.com".into()));
    let to = r.to().unwrap();
    assert_eq!(to.display.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    assert_eq!(
        to.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    let from = r.from().unwrap();
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    let odd = from.params.get("fromParam''~+*_!.-%").unwrap();
    assert_eq!(odd.unquoted().unwrap(), "работающий");
    assert_eq!(
        r.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(r.cseq().unwrap().method, r.method);
    assert_eq!(r.max_forwards(), Some(255));
    let ext = HeaderName::parse(b"extensionHeader-!.%*+_`'~").unwrap();
    assert_eq!(r.headers.get(&ext).unwrap(), "\u{feff}大停電");
    assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert!(r.body.is_empty());
}

#[test]
fn esc01() {
    let r = request("esc01.dat");
    assert_eq!(r.uri.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(
        r.uri.user_unescaped().unwrap().as_ref(),
        b"sips:user@example.com"
    );
    assert_eq!(r.uri.host, Host::Domain("example.net".into()));
    let to = r.to().unwrap();
    assert!(to.uri.equivalent(&uri("sip:user@example.com")));
    assert_eq!(to.uri.aor().as_deref(), Some("user@example.com"));
    assert_eq!(
        r.from().unwrap().uri.aor().as_deref(),
        Some("I have spaces@example.net")
    );
    assert_eq!(r.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    assert_eq!(r.content_type(), Some("application/sdp"));
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    let contact = &contacts[0].uri;
    assert!(contact.equivalent(&uri("sip:caller@host5.example.net;lr;name=value%25%34%31")));
    assert!(contact.equivalent(&uri("sip:caller@host5.example.net;lr;name=value%2541")));
    assert!(!contact.equivalent(&uri("sip:caller@host5.example.net;lr;name=valueA")));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn escnull() {
    let r = request("escnull.dat");
    let to = r.to().unwrap();
    assert_eq!(to.uri.user_unescaped().unwrap().as_ref(), b"null-\0-null");
    assert_eq!(to.uri.aor().as_deref(), Some("null-\0-null@example.com"));
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].uri.user_unescaped().unwrap().as_ref(), b"\0");
    assert_eq!(contacts[1].uri.user_unescaped().unwrap().as_ref(), b"\0\0");
    assert!(!contacts[0].uri.equivalent(&contacts[1].uri));
}

#[test]
fn esc02() {
    let r = request("esc02.dat");
    assert_eq!(r.method.as_str(), "RE%47IST%45R");
    assert_ne!(r.method, Method::Register);
    assert_eq!(r.cseq().unwrap().method, r.method);
    assert_eq!(r.to().unwrap().display.as_deref(), Some("%Z%45"));
    assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
    // `C%6Fntact` is an unknown header, not a third Contact.
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    assert_eq!(contacts.len(), 2);
    assert_eq!(
        contacts[1].uri.host,
        Host::Domain("host3.example.com".into())
    );
    let odd = HeaderName::parse(b"C%6Fntact").unwrap();
    assert_eq!(
        r.headers.get(&odd).unwrap(),
        "<sip:alias2@host2.example.com>"
    );
}

#[test]
fn lwsdisp() {
    let r = request("lwsdisp.dat");
    let from = r.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

#[test]
fn longreq() {
    let r = request("longreq.dat");
    assert_eq!(r.vias().unwrap().len(), 34);
    assert_eq!(r.headers.count(&HeaderName::Via), 34);
    let top = r.top_via().unwrap();
    assert_eq!(top.host, Host::Domain("sip33.example.com".into()));
    let last = r.vias().unwrap().pop().unwrap();
    assert_eq!(last.received(), Some("192.0.2.5"));
    assert!(last.branch().unwrap().ends_with("longbranchvalue"));
    let to = r.to().unwrap().into_owned();
    assert_eq!(to.uri.port, Some(6000));
    assert_eq!(to.uri.params.0.len(), 3);
    assert!(
        to.display
            .unwrap()
            .starts_with("I have a user name of extremeextreme")
    );
    let from = r.from().unwrap();
    assert!(from.tag().unwrap().ends_with("982424"));
    assert_eq!(from.params.0.len(), 3);
    let unknown = HeaderName::parse(
        b"Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong-Name",
    )
    .unwrap();
    assert!(
        r.headers
            .get(&unknown)
            .unwrap()
            .starts_with("unknown-longlong")
    );
    assert_eq!(r.body.len(), 150);
}

#[test]
fn dblreq() {
    let r = request("dblreq.dat");
    assert_eq!(r.method, Method::Register);
    assert_eq!(r.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    assert!(r.body.is_empty());
}

#[test]
fn semiuri() {
    let r = request("semiuri.dat");
    assert_eq!(r.uri.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(r.uri.host, Host::Domain("example.com".into()));
    assert!(r.uri.params.is_empty());
    assert_eq!(r.headers.values(&HeaderName::Accept).len(), 6);
}

#[test]
fn transports() {
    let r = request("transports.dat");
    let transports: Vec<String> = r
        .vias()
        .unwrap()
        .iter()
        .map(|v| v.transport.to_string())
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(r.call_id(), Some("transports.kijh4akdnaqjkwendsasfdj"));
}

#[test]
fn mpart01() {
    let r = request("mpart01.dat");
    assert_eq!(r.method, Method::Message);
    assert_eq!(r.body.len(), 553);
    let raw = load("mpart01.dat");
    assert!(raw.ends_with(&r.body), "body passes through untouched");
    assert!(r.media_type() == Some("multipart/mixed"));
}

#[test]
fn unreason() {
    let r = response("unreason.dat");
    assert_eq!(r.status, 200);
    assert_eq!(r.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(r.body.len(), 154);
}

#[test]
fn noreason() {
    let r = response("noreason.dat");
    assert_eq!(r.status, 100);
    assert_eq!(r.reason, "");
    assert_eq!(r.cseq().unwrap().seq, 35);
}

// ---- 3.1.2 invalid messages ----

#[test]
fn badinv01() {
    rejected_request("badinv01.dat", ParseErrorKind::BadRequest);
}

#[test]
fn clerr() {
    rejected_request("clerr.dat", ParseErrorKind::BadRequest);
}

#[test]
fn ncl() {
    rejected_request("ncl.dat", ParseErrorKind::BadRequest);
}

#[test]
fn scalar02() {
    let r = rejected_request("scalar02.dat", ParseErrorKind::BadRequest);
    assert!(r.error.reason.contains("CSeq"), "{}", r.error.reason);
}

#[test]
fn scalarlg() {
    let r = rejected("scalarlg.dat", ParseErrorKind::Drop);
    assert!(r.headers.is_none());
}

#[test]
fn quotbal() {
    rejected_request("quotbal.dat", ParseErrorKind::BadRequest);
}

#[test]
fn ltgtruri() {
    rejected_request("ltgtruri.dat", ParseErrorKind::BadRequest);
}

#[test]
fn lwsruri() {
    rejected_request("lwsruri.dat", ParseErrorKind::BadRequest);
}

#[test]
fn lwsstart() {
    rejected_request("lwsstart.dat", ParseErrorKind::BadRequest);
}

#[test]
fn trws() {
    rejected_request("trws.dat", ParseErrorKind::BadRequest);
}

#[test]
fn escruri() {
    rejected_request("escruri.dat", ParseErrorKind::BadRequest);
}

#[test]
fn baddate() {
    // The table allows ignoring the Date header: it is kept as written.
    let r = request("baddate.dat");
    assert_eq!(
        r.headers.get(&HeaderName::Date).unwrap(),
        "Fri, 01 Jan 2010 16:00:00 EST"
    );
}

#[test]
fn regbadct() {
    let r = rejected_request("regbadct.dat", ParseErrorKind::BadRequest);
    assert!(r.error.reason.contains("Contact"), "{}", r.error.reason);
}

#[test]
fn badaspec() {
    rejected_request("badaspec.dat", ParseErrorKind::BadRequest);
}

#[test]
fn baddn() {
    rejected_request("baddn.dat", ParseErrorKind::BadRequest);
}

#[test]
fn badvers() {
    let r = rejected_request("badvers.dat", ParseErrorKind::VersionNotSupported);
    assert_eq!(r.error.status(), Some(505));
}

#[test]
fn mismatch01() {
    rejected_request("mismatch01.dat", ParseErrorKind::BadRequest);
}

#[test]
fn mismatch02() {
    // Parses, so that the server answers 501 for the unknown method.
    let r = request("mismatch02.dat");
    assert_eq!(r.method.as_str(), "NEWMETHOD");
    assert_eq!(r.cseq().unwrap().method, Method::Invite);
    assert_eq!(r.body.len(), 138);
}

#[test]
fn bigcode() {
    rejected("bigcode.dat", ParseErrorKind::Drop);
}

// ---- 3.2 transaction layer, 3.3 application layer, 3.4 backward compatibility ----

#[test]
fn badbranch() {
    let r = request("badbranch.dat");
    let via = r.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));
    assert!(!via.rfc3261_branch());
}

#[test]
fn insuf() {
    let r = rejected_request("insuf.dat", ParseErrorKind::BadRequest);
    for missing in ["Call-ID", "From", "To"] {
        assert!(r.error.reason.contains(missing), "{}", r.error.reason);
    }
    assert!(r.headers.unwrap().get(&HeaderName::CSeq).is_some());
}

#[test]
fn unkscm() {
    let r = request("unkscm.dat");
    assert_eq!(r.uri.scheme, Scheme::Other("nobodyKnowsThisScheme".into()));
    assert_eq!(r.uri.opaque, "totallyopaquecontent");
    assert_eq!(
        r.uri.to_string(),
        "nobodyKnowsThisScheme:totallyopaquecontent"
    );
}

#[test]
fn novelsc() {
    let r = request("novelsc.dat");
    assert_eq!(r.uri.scheme, Scheme::Other("soap.beep".into()));
}

#[test]
fn unksm2() {
    let r = request("unksm2.dat");
    assert_eq!(r.to().unwrap().uri.scheme, Scheme::Other("isbn".into()));
    assert_eq!(r.from().unwrap().uri.scheme, Scheme::Other("http".into()));
    assert_eq!(r.to().unwrap().uri.aor(), None);
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    assert_eq!(contacts[0].uri.scheme, Scheme::Other("name".into()));
}

#[test]
fn bext01() {
    let r = request("bext01.dat");
    let require: Vec<String> = r
        .headers
        .values(&HeaderName::Require)
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        require,
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(r.headers.values(&HeaderName::ProxyRequire).len(), 2);
    assert_eq!(r.top_via().unwrap().transport, "TLS");
}

#[test]
fn invut() {
    let r = request("invut.dat");
    assert_eq!(r.content_type(), Some("application/unknownformat"));
    assert_eq!(r.body.len(), 40);
}

#[test]
fn regaut01() {
    let r = request("regaut01.dat");
    assert_eq!(
        r.headers.get(&HeaderName::Authorization).unwrap(),
        "NoOneKnowsThisScheme opaque-data=here"
    );
}

#[test]
fn multi01() {
    rejected_request("multi01.dat", ParseErrorKind::BadRequest);
}

#[test]
fn mcl01() {
    rejected_request("mcl01.dat", ParseErrorKind::BadRequest);
}

#[test]
fn bcast() {
    let r = response("bcast.dat");
    assert_eq!(r.status, 200);
    let vias = r.headers.values(&HeaderName::Via);
    assert_eq!(vias.len(), 2);
    let second = herald_sip::Via::parse(&vias[1]).unwrap();
    assert_eq!(second.host.to_string(), "255.255.255.255");
}

#[test]
fn zeromf() {
    assert_eq!(request("zeromf.dat").max_forwards(), Some(0));
}

#[test]
fn cparam01() {
    let r = request("cparam01.dat");
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    // Bare addr-spec: the parameter belongs to the header, not to the URI.
    assert!(contacts[0].params.contains("unknownparam"));
    assert!(contacts[0].uri.params.is_empty());
    assert_eq!(contacts[0].uri.user.as_deref(), Some("+19725552222"));
}

#[test]
fn cparam02() {
    let r = request("cparam02.dat");
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    assert!(contacts[0].uri.params.contains("unknownparam"));
    assert!(contacts[0].params.is_empty());
}

#[test]
fn regescrt() {
    let r = request("regescrt.dat");
    let ContactValue::Addrs(contacts) = r.contacts().unwrap().into_owned() else {
        panic!("star")
    };
    assert_eq!(
        contacts[0].uri.headers.as_deref(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
    assert_eq!(
        contacts[0].uri.to_string(),
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    );
}

#[test]
fn sdp01() {
    let r = request("sdp01.dat");
    assert_eq!(
        r.headers.get(&HeaderName::Accept).unwrap(),
        "text/nobodyKnowsThis"
    );
    assert_eq!(r.body.len(), 150);
}

#[test]
fn inv2543() {
    let r = request("inv2543.dat");
    let via = r.top_via().unwrap();
    assert_eq!(via.branch(), None);
    assert!(!via.rfc3261_branch());
    assert_eq!(r.max_forwards(), None);
    assert_eq!(r.to().unwrap().tag(), None);
    // No Content-Length on a datagram: the body is the rest of it.
    assert!(r.body.starts_with(b"v=0") && r.body.ends_with(b"RTP/AVP 0\r\n"));
}
