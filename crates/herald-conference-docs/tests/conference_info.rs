//! conference-info (RFC 4575): the RFC's example documents, round trips, partial and
//! deleted users, escaping, schema order, tolerance and refusals.

use herald_conference_docs::conference_info::CONTENT_TYPE;
use herald_conference_docs::{
    ConferenceInfo, DisconnectionMethod, DocError, ElementState, Endpoint, EndpointStatus,
    JoiningMethod, Limits, User,
};

const BASIC: &str = include_str!("fixtures/rfc4575_basic.xml");
const RICH: &str = include_str!("fixtures/rfc4575_rich.xml");

fn parse(xml: &str) -> Result<ConferenceInfo, DocError> {
    ConferenceInfo::parse(xml.as_bytes(), &Limits::default())
}

fn endpoint(entity: &str) -> Endpoint {
    Endpoint {
        entity: entity.into(),
        state: ElementState::Full,
        display_text: None,
        status: None,
        joining_method: None,
        joining_when: None,
        disconnection_method: None,
        disconnection_when: None,
        referred_by: None,
    }
}

fn user(entity: &str) -> User {
    User {
        entity: entity.into(),
        state: ElementState::Full,
        display_text: None,
        roles: Vec::new(),
        endpoints: Vec::new(),
    }
}

/// A full roster with every field of the model set.
fn full_roster() -> ConferenceInfo {
    ConferenceInfo {
        entity: "sip:conf-5f3a@example.com".into(),
        version: 7,
        state: ElementState::Full,
        subject: Some("Release planning".into()),
        max_user_count: Some(250),
        user_count: Some(2),
        active: Some(true),
        users: vec![
            User {
                display_text: Some("Alice Example".into()),
                roles: vec!["administrator".into(), "participant".into()],
                endpoints: vec![Endpoint {
                    display_text: Some("Alice's laptop".into()),
                    status: Some(EndpointStatus::Connected),
                    joining_method: Some(JoiningMethod::DialedIn),
                    joining_when: Some("2026-11-21T10:11:12.345Z".into()),
                    ..endpoint("sip:alice@192.0.2.4:5060;transport=tcp")
                }],
                ..user("sip:alice@example.com")
            },
            User {
                display_text: Some("Bob".into()),
                roles: vec!["participant".into()],
                endpoints: vec![Endpoint {
                    status: Some(EndpointStatus::Disconnected),
                    joining_method: Some(JoiningMethod::DialedOut),
                    joining_when: Some("2026-11-21T10:12:00.000Z".into()),
                    disconnection_method: Some(DisconnectionMethod::Departed),
                    disconnection_when: Some("2026-11-21T10:30:00.000Z".into()),
                    referred_by: Some("sip:alice@example.com".into()),
                    ..endpoint("sip:bob@198.51.100.2")
                }],
                ..user("sip:bob@example.com")
            },
        ],
    }
}

#[test]
fn content_type_is_the_registered_one() {
    assert_eq!(CONTENT_TYPE, "application/conference-info+xml");
}

#[test]
fn reads_the_rfc_4575_basic_example() {
    let info = parse(BASIC).unwrap();
    assert_eq!(info.entity, "sips:conf233@example.com");
    assert_eq!(info.version, 1);
    assert_eq!(info.state, ElementState::Full);
    assert_eq!(info.subject.as_deref(), Some("Agenda: This month's goals"));
    assert_eq!(info.max_user_count, None);
    assert_eq!(info.user_count, Some(33));
    assert_eq!(info.active, None);
    assert_eq!(
        info.users,
        vec![
            User {
                display_text: Some("Bob Hoskins".into()),
                endpoints: vec![Endpoint {
                    display_text: Some("Bob's Laptop".into()),
                    status: Some(EndpointStatus::Disconnected),
                    disconnection_method: Some(DisconnectionMethod::Departed),
                    disconnection_when: Some("2005-03-04T20:00:00Z".into()),
                    ..endpoint("sip:bob@pc33.example.com")
                }],
                ..user("sip:bob@example.com")
            },
            User {
                display_text: Some("Alice".into()),
                endpoints: vec![Endpoint {
                    status: Some(EndpointStatus::Connected),
                    joining_method: Some(JoiningMethod::DialedOut),
                    joining_when: Some("2005-03-04T20:00:00Z".into()),
                    ..endpoint("sip:4kfk4j392jsu@example.com;grid=433kj4j3u")
                }],
                ..user("sip:alice@example.com")
            },
        ]
    );
    // What we write from it reads back the same.
    assert_eq!(parse(&info.to_xml()).unwrap(), info);
}

#[test]
fn reads_a_rich_document_and_skips_what_the_model_does_not_hold() {
    let info = parse(RICH).unwrap();
    assert_eq!(info.subject.as_deref(), Some("Sales Results"));
    assert_eq!(info.max_user_count, Some(50));
    assert_eq!(info.user_count, Some(33));
    assert_eq!(info.active, Some(true));
    // The users of the sidebar are not users of the conference.
    let entities: Vec<&str> = info.users.iter().map(|u| u.entity.as_str()).collect();
    assert_eq!(entities, ["sip:bob@example.com", "sip:alice@example.com"]);
    let bob = &info.users[0];
    assert_eq!(bob.roles, ["participant", "administrator"]);
    let laptop = &bob.endpoints[0];
    assert_eq!(laptop.referred_by.as_deref(), Some("sip:alice@example.com"));
    assert_eq!(laptop.status, Some(EndpointStatus::Connected));
    assert_eq!(laptop.joining_method, Some(JoiningMethod::DialedIn));
    assert_eq!(laptop.joining_when.as_deref(), Some("2005-03-04T20:00:00Z"));
    assert_eq!(laptop.disconnection_when, None);
    let alice = &info.users[1].endpoints[0];
    assert_eq!(alice.status, Some(EndpointStatus::OnHold));
    assert_eq!(alice.joining_method, Some(JoiningMethod::FocusOwner));
    assert_eq!(parse(&info.to_xml()).unwrap(), info);
}

#[test]
fn a_full_roster_round_trips() {
    let info = full_roster();
    let xml = info.to_xml();
    assert_eq!(parse(&xml).unwrap(), info, "{xml}");
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<conference-info \
         xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"sip:conf-5f3a@example.com\" \
         state=\"full\" version=\"7\">\n"
    ));
    assert!(!xml.contains("state=\"partial\""), "{xml}");
}

#[test]
fn elements_follow_the_schema_order() {
    let xml = full_roster().to_xml();
    let order = |names: &[&str], within: &str| {
        let positions: Vec<usize> = names
            .iter()
            .map(|n| {
                within
                    .find(&format!("<{n}"))
                    .unwrap_or_else(|| panic!("no <{n} in {within}"))
            })
            .collect();
        assert!(positions.is_sorted(), "{names:?} out of order in {within}");
    };
    order(
        &[
            "conference-description",
            "subject",
            "maximum-user-count",
            "conference-state",
            "user-count",
            "active",
            "users",
        ],
        &xml,
    );
    let user = xml.split("<user ").nth(1).unwrap();
    order(&["display-text", "roles", "endpoint"], user);
    let bob_endpoint = xml.split("<endpoint ").nth(2).unwrap();
    order(
        &[
            "referred",
            "status",
            "joining-method",
            "joining-info",
            "disconnection-method",
            "disconnection-info",
        ],
        bob_endpoint,
    );
}

#[test]
fn empty_values_are_left_out() {
    let info = ConferenceInfo {
        entity: "sip:conf-1@d".into(),
        version: 0,
        state: ElementState::Full,
        subject: None,
        max_user_count: None,
        user_count: None,
        active: None,
        users: vec![User {
            endpoints: vec![endpoint("sip:a@h")],
            ..user("sip:a@d")
        }],
    };
    let xml = info.to_xml();
    for absent in [
        "conference-description",
        "conference-state",
        "display-text",
        "roles",
        "status",
        "joining",
        "disconnection",
        "referred",
    ] {
        assert!(!xml.contains(absent), "{absent} in {xml}");
    }
    assert!(
        xml.contains("<endpoint entity=\"sip:a@h\" state=\"full\"/>"),
        "{xml}"
    );
    assert_eq!(parse(&xml).unwrap(), info);
    let nobody = ConferenceInfo {
        users: Vec::new(),
        ..info
    };
    assert!(!nobody.to_xml().contains("users"));
    assert_eq!(parse(&nobody.to_xml()).unwrap(), nobody);
}

#[test]
fn partial_updates_with_deleted_users_round_trip() {
    let update = ConferenceInfo {
        entity: "sip:conf-5f3a@example.com".into(),
        version: 8,
        state: ElementState::Partial,
        subject: None,
        max_user_count: None,
        user_count: Some(2),
        active: None,
        users: vec![
            User {
                state: ElementState::Deleted,
                ..user("sip:bob@example.com")
            },
            User {
                state: ElementState::Full,
                display_text: Some("Carol".into()),
                roles: vec!["participant".into()],
                endpoints: vec![Endpoint {
                    status: Some(EndpointStatus::Connected),
                    joining_method: Some(JoiningMethod::DialedOut),
                    referred_by: Some("sip:alice@example.com".into()),
                    ..endpoint("sip:carol@203.0.113.9")
                }],
                ..user("sip:carol@example.com")
            },
            User {
                state: ElementState::Partial,
                endpoints: vec![Endpoint {
                    state: ElementState::Partial,
                    status: Some(EndpointStatus::OnHold),
                    ..endpoint("sip:alice@192.0.2.4:5060;transport=tcp")
                }],
                ..user("sip:alice@example.com")
            },
        ],
    };
    let xml = update.to_xml();
    assert_eq!(parse(&xml).unwrap(), update, "{xml}");
    assert!(xml.contains("state=\"partial\" version=\"8\">"), "{xml}");
    // The sections default to full: a partial document must say they are partial.
    assert!(
        xml.contains("<conference-state state=\"partial\">"),
        "{xml}"
    );
    assert!(xml.contains("<users state=\"partial\">"), "{xml}");
    assert!(
        xml.contains("<user entity=\"sip:bob@example.com\" state=\"deleted\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<endpoint entity=\"sip:alice@192.0.2.4:5060;transport=tcp\" state=\"partial\">"
        ),
        "{xml}"
    );
}

#[test]
fn hostile_text_is_escaped_and_survives() {
    let info = ConferenceInfo {
        entity: "sip:conf-1@d;x=\"1\"&y=<2>".into(),
        subject: Some("</subject><users><user entity='evil'/></users> & ]]> \r\n\t".into()),
        users: vec![User {
            display_text: Some("O'Brien \"Bob\" <bob@d> & co\r".into()),
            roles: vec!["<participant/>".into()],
            ..user("sip:\"bob\"@d\n\t")
        }],
        ..full_roster()
    };
    let xml = info.to_xml();
    assert_eq!(parse(&xml).unwrap(), info, "{xml}");
    assert!(!xml.contains("<users><user entity='evil'"), "{xml}");
    // Characters XML cannot carry become U+FFFD instead of breaking the document.
    let control = ConferenceInfo {
        subject: Some("a\u{0}b\u{1b}".into()),
        ..full_roster()
    };
    assert_eq!(
        parse(&control.to_xml()).unwrap().subject.as_deref(),
        Some("a\u{FFFD}b\u{FFFD}")
    );
}

#[test]
fn tolerates_prefixes_foreign_namespaces_and_any_order() {
    let xml = r#"<ci:conference-info xmlns:ci="urn:ietf:params:xml:ns:conference-info"
        xmlns:ms="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions"
        entity="sip:conf@d" version=" 3 " ms:extra="1" unknown="x">
      <ci:users>
        <ci:user entity="sip:a@d" state="partial" ms:id="7">
          <ci:endpoint entity="sip:a@h">
            <ms:status>booted</ms:status>
            <ci:joining-info><ci:when> 2026-01-01T00:00:00Z </ci:when></ci:joining-info>
            <ci:status> muted-via-focus </ci:status>
            <ci:status>connected</ci:status>
            <ci:joining-method>teleported</ci:joining-method>
            <ms:session-type>chat</ms:session-type>
          </ci:endpoint>
          <ci:display-text>A</ci:display-text>
          <ms:roles><ms:entry>ghost</ms:entry></ms:roles>
        </ci:user>
      </ci:users>
      <ci:conference-state><ci:active>0</ci:active></ci:conference-state>
      <ci:conference-description><ci:subject>S</ci:subject></ci:conference-description>
    </ci:conference-info>"#;
    let info = parse(xml).unwrap();
    assert_eq!(info.version, 3);
    assert_eq!(
        info.state,
        ElementState::Full,
        "no state attribute means full"
    );
    assert_eq!(info.subject.as_deref(), Some("S"));
    assert_eq!(info.active, Some(false));
    let a = &info.users[0];
    assert_eq!(a.state, ElementState::Partial);
    assert_eq!(a.display_text.as_deref(), Some("A"));
    assert!(
        a.roles.is_empty(),
        "roles in another namespace are not ours"
    );
    let e = &a.endpoints[0];
    assert_eq!(
        e.status,
        Some(EndpointStatus::MutedViaFocus),
        "the first status counts"
    );
    assert_eq!(e.joining_method, None, "an unknown value reads as None");
    assert_eq!(e.joining_when.as_deref(), Some("2026-01-01T00:00:00Z"));

    // A generator that forgot the namespace.
    let bare = parse(r#"<conference-info entity="sip:c@d" version="1"><users><user entity="sip:u@d"/></users></conference-info>"#)
        .unwrap();
    assert_eq!(bare.users.len(), 1);
}

#[test]
fn refuses_what_is_not_a_valid_document() {
    let doc = |attrs: &str, inner: &str| {
        format!(
            "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" {attrs}>{inner}</conference-info>"
        )
    };
    let ok = "entity=\"sip:c@d\" version=\"1\"";
    let cases = [
        (
            "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>".to_owned(),
            "not a conference-info document (root presence in urn:ietf:params:xml:ns:pidf)",
        ),
        (
            "<x:conference-info xmlns:x=\"urn:other\" entity=\"a\" version=\"1\"/>".to_owned(),
            "not a conference-info document (root conference-info in urn:other)",
        ),
        (doc("version=\"1\"", ""), "conference-info without entity"),
        (
            doc("entity=\"sip:c@d\"", ""),
            "conference-info without version",
        ),
        (
            doc("entity=\"sip:c@d\" version=\"-1\"", ""),
            "bad version -1",
        ),
        (
            doc("entity=\"sip:c@d\" version=\"4294967296\"", ""),
            "bad version 4294967296",
        ),
        (
            doc("entity=\"sip:c@d\" version=\"1\" state=\"half\"", ""),
            "bad state half on conference-info",
        ),
        (doc(ok, "<users><user/></users>"), "user without entity"),
        (
            doc(ok, "<users><user entity=\"u\"><endpoint/></user></users>"),
            "endpoint without entity",
        ),
        (
            doc(ok, "<users><user entity=\"u\" state=\"gone\"/></users>"),
            "bad state gone on user",
        ),
        (
            doc(
                ok,
                "<conference-state><user-count>many</user-count></conference-state>",
            ),
            "bad user-count many",
        ),
        (
            doc(
                ok,
                "<conference-state><active>yes</active></conference-state>",
            ),
            "bad active yes",
        ),
        (
            doc(
                ok,
                "<conference-description><maximum-user-count>1e3</maximum-user-count></conference-description>",
            ),
            "bad maximum-user-count 1e3",
        ),
        (doc(ok, "<users>"), "not well-formed XML"),
    ];
    for (xml, reason) in cases {
        let err = parse(&xml).expect_err(&xml);
        assert!(matches!(err, DocError::Malformed(_)), "{xml}: {err:?}");
        assert!(err.to_string().starts_with(reason), "{xml}: {err}");
    }
}

#[test]
fn limits_bound_size_depth_and_users() {
    let many_users: String = (0..50)
        .map(|i| format!("<user entity=\"sip:u{i}@d\"/>"))
        .collect();
    let xml = format!(
        "<conference-info entity=\"sip:c@d\" version=\"1\"><users>{many_users}</users></conference-info>"
    );
    let limits = |max_bytes, max_depth, max_elements| Limits {
        max_bytes,
        max_depth,
        max_elements,
    };
    assert_eq!(
        ConferenceInfo::parse(xml.as_bytes(), &limits(xml.len(), 3, 52))
            .unwrap()
            .users
            .len(),
        50
    );
    assert!(matches!(
        ConferenceInfo::parse(xml.as_bytes(), &limits(xml.len(), 3, 51)),
        Err(DocError::TooComplex(_))
    ));
    assert!(matches!(
        ConferenceInfo::parse(xml.as_bytes(), &limits(xml.len(), 2, 100)),
        Err(DocError::TooComplex(_))
    ));
    assert_eq!(
        ConferenceInfo::parse(xml.as_bytes(), &limits(xml.len() - 1, 3, 100)),
        Err(DocError::TooLarge { max: xml.len() - 1 })
    );
    let deep = format!(
        "<conference-info entity=\"c\" version=\"1\">{}",
        "<x>".repeat(100)
    );
    assert!(matches!(parse(&deep), Err(DocError::TooComplex(_))));
}

#[test]
fn a_conference_of_250_fits_the_default_limits() {
    let users = (0..250)
        .map(|i| User {
            display_text: Some(format!("User number {i}")),
            roles: vec!["participant".into()],
            endpoints: vec![Endpoint {
                status: Some(EndpointStatus::Connected),
                joining_method: Some(JoiningMethod::DialedIn),
                joining_when: Some("2026-11-21T10:11:12.345Z".into()),
                ..endpoint(&format!("sip:user{i}@192.0.2.1:5060;transport=tcp"))
            }],
            ..user(&format!("sip:user{i}@example.com"))
        })
        .collect();
    let info = ConferenceInfo {
        users,
        ..full_roster()
    };
    let xml = info.to_xml();
    let roomy = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    assert_eq!(ConferenceInfo::parse(xml.as_bytes(), &roomy).unwrap(), info);
    // The element count and depth stay within the defaults; only the size needs room.
    assert!(xml.len() > Limits::default().max_bytes, "{}", xml.len());
}
