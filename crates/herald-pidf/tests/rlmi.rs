//! RLMI documents and resource-list NOTIFY bodies: building, reading back (ours and an
//! RFC 4662-style body with LF line ends), consistency checks and malformed input.

use herald_pidf::multipart::{
    Boundary, ResourcePart, build_rlmi_notify, parse_multipart_related, parse_rlmi_notify,
    random_content_id,
};
use herald_pidf::rlmi::{Instance, InstanceState, Name, Resource, RlmiList, parse_rlmi};
use herald_pidf::{AccessLevel, Aggregate, Availability, ErrorKind, Limits, parse_pidf, render};

fn list_of(n: usize) -> (RlmiList, Vec<ResourcePart>) {
    let mut list = RlmiList::new("sip:alice+contacts@example.com", 1, true).with_name(Name {
        text: "Alice's contacts".into(),
        lang: Some("en".into()),
    });
    let mut parts = Vec::new();
    for i in 0..n {
        let uri = format!("sip:user{i}@example.com");
        let cid = format!("c{i}@example.com");
        list = list.with_resource(
            Resource::new(&uri)
                .with_name(Name::new(format!("User {i}")))
                .with_instance(Instance::active(format!("i{i}"), &cid)),
        );
        let availability = Availability::new(u32::try_from(i % 7).unwrap() * 3000).unwrap();
        let document = render(
            &Aggregate {
                availability,
                ..Aggregate::offline()
            },
            &uri,
            AccessLevel::Public,
        );
        parts.push(ResourcePart::pidf(cid, document));
    }
    (list, parts)
}

#[test]
fn rlmi_documents_read_back_identically() {
    let list = RlmiList::new("sip:alice+contacts@example.com", 4, false)
        .with_resource(
            Resource::new("sip:bob@example.com").with_instance(Instance::active("b1", "bob@x")),
        )
        .with_resource(
            Resource::new("sip:carol@example.com").with_instance(Instance::pending("c1")),
        )
        .with_resource(
            Resource::new("sip:dave@example.net")
                .with_name(Name::new("Dave & <Co>"))
                .with_instance(Instance::terminated("d1", "noresource")),
        );
    let xml = list.to_xml();
    assert!(xml.contains("<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:alice+contacts@example.com\" version=\"4\" fullState=\"false\">"), "{xml}");
    assert!(
        xml.contains("<instance id=\"d1\" state=\"terminated\" reason=\"noresource\"/>"),
        "{xml}"
    );
    assert_eq!(parse_rlmi(xml.as_bytes(), &Limits::DOCUMENT), Ok(list));
}

#[test]
fn a_fifty_contact_notify_round_trips() {
    let (list, parts) = list_of(50);
    let body = build_rlmi_notify(&list, "root@example.com", &parts, &Boundary::random()).unwrap();
    assert!(body.content_type.starts_with(
        "multipart/related;type=\"application/rlmi+xml\";start=\"<root@example.com>\";boundary=\""
    ));

    let notify = parse_rlmi_notify(&body.content_type, &body.body, &Limits::LISTS).unwrap();
    assert_eq!(notify.list, list);
    assert_eq!(notify.parts.len(), 50);
    for (part, sent) in notify.parts.iter().zip(&parts) {
        assert_eq!(part.content_id.as_deref(), Some(sent.cid.as_str()));
        assert_eq!(part.header("content-transfer-encoding"), Some("binary"));
        assert!(part.is("application/pidf+xml"));
        assert_eq!(part.body, sent.body);
        parse_pidf(&part.body, &Limits::DOCUMENT).unwrap();
    }
    // Every RLMI instance resolves to its part.
    for instance in notify.list.resources.iter().flat_map(|r| &r.instances) {
        assert_eq!(instance.state, InstanceState::Active);
        assert!(
            notify
                .part_by_cid(instance.cid.as_deref().unwrap())
                .is_some()
        );
    }
}

#[test]
fn the_body_has_the_rfc_4662_layout() {
    let (list, parts) = list_of(1);
    let boundary = Boundary::new("50UBfW7LSCVLtggUPe5z").unwrap();
    let body = build_rlmi_notify(&list, "nXYxAE@pres.example.com", &parts, &boundary).unwrap();
    let text = String::from_utf8(body.body).unwrap();
    assert_eq!(
        body.content_type,
        "multipart/related;type=\"application/rlmi+xml\";start=\"<nXYxAE@pres.example.com>\";boundary=\"50UBfW7LSCVLtggUPe5z\""
    );
    assert!(text.starts_with(
        "--50UBfW7LSCVLtggUPe5z\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <nXYxAE@pres.example.com>\r\nContent-Type: application/rlmi+xml;charset=\"UTF-8\"\r\n\r\n<?xml"
    ), "{text}");
    assert!(text.contains(
        "\r\n--50UBfW7LSCVLtggUPe5z\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <c0@example.com>\r\nContent-Type: application/pidf+xml;charset=\"UTF-8\"\r\n\r\n<?xml"
    ), "{text}");
    assert!(
        text.ends_with("</presence>\n\r\n--50UBfW7LSCVLtggUPe5z--\r\n"),
        "{text}"
    );
}

#[test]
fn reads_an_rfc_4662_style_body_with_lf_line_ends_preamble_and_padding() {
    let body = "This is a preamble.\n\
--50UBfW7LSCVLtggUPe5z  \n\
Content-Transfer-Encoding: binary\n\
Content-ID: <nXYxAE@pres.example.com>\n\
Content-Type: application/rlmi+xml;charset=\"UTF-8\"\n\
\n\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:adam-friends@pres.example.com\" version=\"1\" fullState=\"true\">\n\
  <name xml:lang=\"en\">Buddy List at COM</name>\n\
  <resource uri=\"sip:bob@example.com\" name=\"Bob Smith\">\n\
    <instance id=\"juwigmtboe\" state=\"active\" cid=\"bUZBsM@pres.example.com\"/>\n\
  </resource>\n\
  <resource uri=\"sip:dave@example.com\">\n\
    <name>Dave Jones</name>\n\
    <instance id=\"hqzsuxtfyq\" state=\"pending\"/>\n\
  </resource>\n\
</list>\n\
--50UBfW7LSCVLtggUPe5z\n\
Content-Transfer-Encoding: binary\n\
Content-ID: <bUZBsM@pres.example.com>\n\
Content-Type: application/pidf+xml;\n charset=\"UTF-8\"\n\
\n\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@example.com\">\n\
  <tuple id=\"z98075\"><status><basic>closed</basic></status></tuple>\n\
</presence>\n\
--50UBfW7LSCVLtggUPe5z--\n\
epilogue";
    let content_type = "multipart/related;type=\"application/rlmi+xml\";\r\n start=\"<nXYxAE@pres.example.com>\";boundary=\"50UBfW7LSCVLtggUPe5z\"";
    let multipart =
        parse_multipart_related(content_type, body.as_bytes(), &Limits::DOCUMENT).unwrap();
    assert_eq!(multipart.start.as_deref(), Some("nXYxAE@pres.example.com"));
    assert_eq!(multipart.root_type.as_deref(), Some("application/rlmi+xml"));
    assert_eq!(multipart.parts.len(), 2);
    assert_eq!(
        multipart.parts[1].content_type.as_deref(),
        Some("application/pidf+xml; charset=\"UTF-8\"")
    );
    assert!(multipart.parts[1].body.ends_with(b"</presence>"));

    let notify = parse_rlmi_notify(content_type, body.as_bytes(), &Limits::DOCUMENT).unwrap();
    assert_eq!(
        notify.list.names,
        vec![Name {
            text: "Buddy List at COM".into(),
            lang: Some("en".into())
        }]
    );
    assert_eq!(
        notify.list.resources[1].names,
        vec![Name::new("Dave Jones")]
    );
    let bob = notify.part_by_cid("bUZBsM@pres.example.com").unwrap();
    let pidf = parse_pidf(&bob.body, &Limits::DOCUMENT).unwrap();
    assert_eq!(pidf.availability(), Availability::OFFLINE);
}

#[test]
fn without_start_the_first_part_is_the_root() {
    let (list, parts) = list_of(2);
    let body = build_rlmi_notify(&list, "root@x", &parts, &Boundary::random()).unwrap();
    let content_type = body.content_type.replace("start=\"<root@x>\";", "");
    let notify = parse_rlmi_notify(&content_type, &body.body, &Limits::DOCUMENT).unwrap();
    assert_eq!(notify.list, list);
    assert_eq!(notify.parts.len(), 2);
}

#[test]
fn inconsistent_input_is_refused_by_the_builder() {
    let (list, parts) = list_of(2);
    let boundary = Boundary::random();
    let refused = |list: &RlmiList, root: &str, parts: &[ResourcePart], boundary: &Boundary| {
        build_rlmi_notify(list, root, parts, boundary)
            .unwrap_err()
            .reason()
            .to_owned()
    };
    assert_eq!(
        refused(&list, "root@x", &parts[..1], &boundary),
        "RLMI instance without its part"
    );
    let mut extra = parts.clone();
    extra.push(ResourcePart::pidf("stray@x", "x"));
    assert_eq!(
        refused(&list, "root@x", &extra, &boundary),
        "part not referenced by the RLMI document"
    );
    let mut twice = parts.clone();
    twice.push(parts[0].clone());
    assert_eq!(
        refused(&list, "root@x", &twice, &boundary),
        "duplicate Content-ID"
    );
    assert_eq!(
        refused(&list, "c0@example.com", &parts, &boundary),
        "duplicate Content-ID"
    );
    assert_eq!(
        refused(&list, "<root>", &parts, &boundary),
        "bad Content-ID"
    );
    let mut bad_type = parts.clone();
    bad_type[0].content_type = "text/plain\r\nX-Injected: 1".into();
    assert_eq!(
        refused(&list, "root@x", &bad_type, &boundary),
        "bad part Content-Type"
    );
    let mut colliding = parts.clone();
    colliding[0].body = b"before\r\n--fixed-boundary\r\nafter".to_vec();
    assert_eq!(
        refused(
            &list,
            "root@x",
            &colliding,
            &Boundary::new("fixed-boundary").unwrap()
        ),
        "boundary occurs in a body part"
    );
}

#[test]
fn malformed_multipart_bodies_are_refused() {
    let ct = "multipart/related;type=\"application/rlmi+xml\";boundary=b";
    let cases: &[(&str, &str, ErrorKind)] = &[
        ("text/plain", "--b\r\n\r\nx\r\n--b--", ErrorKind::Invalid),
        (
            "multipart/related",
            "--b\r\n\r\nx\r\n--b--",
            ErrorKind::Malformed,
        ),
        (
            "multipart/related;boundary=\"\"",
            "--\r\n\r\nx\r\n----",
            ErrorKind::Malformed,
        ),
        ("multipart/related;;", "", ErrorKind::Malformed),
        (ct, "no delimiter at all", ErrorKind::Malformed),
        (
            ct,
            "--b\r\nContent-Type: a/b\r\n\r\nbody without end",
            ErrorKind::Malformed,
        ),
        (ct, "--b--\r\n", ErrorKind::Malformed),
        (
            ct,
            "--b\r\nno colon here\r\n\r\nx\r\n--b--",
            ErrorKind::Malformed,
        ),
        (
            ct,
            "--b\r\n continuation first\r\n\r\nx\r\n--b--",
            ErrorKind::Malformed,
        ),
        (
            ct,
            "--b\r\nX-\u{ff}: \r\n\r\nx\r\n--b--",
            ErrorKind::Malformed,
        ),
    ];
    for (content_type, body, kind) in cases {
        let err = parse_multipart_related(content_type, body.as_bytes(), &Limits::DOCUMENT)
            .expect_err(body);
        assert_eq!(err.kind(), *kind, "{content_type} {body:?}: {err}");
    }
    let too_many = format!("{}--b--", "--b\r\n\r\nx\r\n".repeat(65));
    let err = parse_multipart_related(ct, too_many.as_bytes(), &Limits::DOCUMENT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooComplex);
    let big = vec![b'x'; Limits::DOCUMENT.max_bytes + 1];
    assert_eq!(
        parse_multipart_related(ct, &big, &Limits::DOCUMENT)
            .unwrap_err()
            .kind(),
        ErrorKind::TooLarge
    );
}

#[test]
fn delimiter_text_inside_a_line_is_content() {
    let ct = "multipart/related;boundary=b";
    let body = "--b\r\nContent-ID: <a>\r\n\r\nx--b y\r\n--bz\r\n--b\r\n\r\nsecond\r\n--b--";
    let m = parse_multipart_related(ct, body.as_bytes(), &Limits::DOCUMENT).unwrap();
    assert_eq!(m.parts.len(), 2);
    assert_eq!(m.parts[0].body, b"x--b y\r\n--bz");
    assert_eq!(m.parts[0].content_id.as_deref(), Some("a"));
    assert_eq!(m.parts[1].body, b"second");
    assert!(m.parts[1].headers.is_empty());
    assert_eq!(
        m.root().map(|p| p.body.as_slice()),
        Some(&b"x--b y\r\n--bz"[..])
    );
}

#[test]
fn a_non_rlmi_root_is_refused() {
    let ct = "multipart/related;boundary=b";
    let body = "--b\r\nContent-Type: application/pidf+xml\r\n\r\n<x/>\r\n--b--";
    let err = parse_rlmi_notify(ct, body.as_bytes(), &Limits::DOCUMENT).unwrap_err();
    assert_eq!(err.reason(), "root part is not application/rlmi+xml");
    let missing = "multipart/related;start=\"<nope>\";boundary=b";
    let err = parse_rlmi_notify(missing, body.as_bytes(), &Limits::DOCUMENT).unwrap_err();
    assert_eq!(err.reason(), "root part not found");
}

#[test]
fn invalid_rlmi_documents_are_refused() {
    let ns = "xmlns='urn:ietf:params:xml:ns:rlmi'";
    let cases = [
        (
            "<list uri='sip:l@x' version='1' fullState='true'/>".to_owned(),
            "root element is not RLMI <list>",
        ),
        (
            format!("<list {ns} version='1' fullState='true'/>"),
            "<list> without uri",
        ),
        (
            format!("<list {ns} uri='sip:l@x' version='x' fullState='true'/>"),
            "bad list version",
        ),
        (
            format!("<list {ns} uri='sip:l@x' version='1' fullState='maybe'/>"),
            "bad list fullState",
        ),
        (
            format!("<list {ns} uri='sip:l@x' version='1' fullState='1'><resource/></list>"),
            "<resource> without uri",
        ),
        (
            format!(
                "<list {ns} uri='sip:l@x' version='1' fullState='1'><resource uri='sip:a@x'><instance id='1' state='gone'/></resource></list>"
            ),
            "instance state must be active, pending or terminated",
        ),
        (
            format!(
                "<list {ns} uri='sip:l@x' version='1' fullState='1'><resource uri='sip:a@x'><instance state='active'/></resource></list>"
            ),
            "<instance> without id",
        ),
        (
            format!("<list {ns} uri='sip:l@x' version='1' fullState='1'><item/></list>"),
            "unexpected <item> in <list>",
        ),
    ];
    for (xml, reason) in cases {
        let err = parse_rlmi(xml.as_bytes(), &Limits::DOCUMENT).expect_err(&xml);
        assert_eq!(err.reason(), reason, "{xml}");
    }
}

#[test]
fn random_ids_are_distinct() {
    let a = random_content_id("example.com");
    let b = random_content_id("example.com");
    assert_ne!(a, b);
}
