//! `parse_pidf` on real-world documents (PJSIP, Linphone, Kamailio, the RFC examples, a
//! Herald-aware client) and on malformed and hostile ones.

use herald_pidf::{
    Activity, Availability, Basic, ContactCard, ErrorKind, Identity, Limits, Note, PlaceType,
    TimeOffset, UserInput, parse_pidf,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_fixture(name: &str) -> herald_pidf::Publication {
    parse_pidf(&fixture(name), &Limits::DOCUMENT).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn lang_note(text: &str, lang: &str) -> Note {
    Note {
        text: text.into(),
        lang: Some(lang.into()),
    }
}

#[test]
fn pjsip_busy_with_note() {
    let p = parse_fixture("pjsip_busy.xml");
    assert_eq!(p.entity, "sip:alice@example.com");
    assert_eq!(p.tuples.len(), 1);
    assert_eq!(p.tuples[0].id, "pj62d1f0c3a5e54bd1a4c7e1b6f2d0a7c4");
    assert_eq!(p.tuples[0].basic, Some(Basic::Open));
    assert_eq!(
        p.tuples[0].timestamp.as_deref(),
        Some("2024-05-02T09:15:27.081Z")
    );
    assert_eq!(p.tuples[0].notes, vec![Note::new("In a call")]);
    let person = p.person.as_ref().unwrap();
    assert_eq!(person.id, "pj3b9e0f5c8d2a4f6e9b1c7d3a5e8f0b2c");
    assert_eq!(person.activities, vec![Activity::Busy]);
    assert_eq!(person.notes, vec![Note::new("In a call")]);
    assert_eq!(p.availability(), Availability::BUSY);
    assert_eq!(p.personal_notes(), &[Note::new("In a call")]);
}

#[test]
fn pjsip_online_and_away() {
    let online = parse_fixture("pjsip_online.xml");
    assert!(online.person.is_none());
    assert_eq!(online.availability(), Availability::AVAILABLE);
    let away = parse_fixture("pjsip_away.xml");
    assert_eq!(away.availability(), Availability::AWAY);
}

#[test]
fn linphone_with_status_extension_and_contact_priority() {
    let p = parse_fixture("linphone.xml");
    assert_eq!(p.entity, "sip:51234@10.0.0.27");
    let contact = p.tuples[0].contact.as_ref().unwrap();
    assert_eq!(contact.uri, "sip:51234@10.0.0.27");
    assert_eq!(contact.priority_millis, Some(800));
    assert_eq!(p.availability(), Availability::AVAILABLE);
}

#[test]
fn rfc3863_example_with_foreign_extensions() {
    let p = parse_fixture("rfc3863_im.xml");
    assert_eq!(p.entity, "pres:someone@example.com");
    assert_eq!(p.tuples.len(), 2);
    assert_eq!(
        p.tuples[0].notes,
        vec![
            lang_note("Don't Disturb Please!", "en"),
            lang_note("Ne dérangez pas, s'il vous plait", "fr")
        ]
    );
    assert_eq!(
        p.tuples[1].contact.as_ref().and_then(|c| c.priority_millis),
        Some(1000)
    );
    assert_eq!(p.notes, vec![Note::new("I'll be in Tokyo next week")]);
    // Without a person, the document-level note is the personal one.
    assert_eq!(
        p.personal_notes(),
        &[Note::new("I'll be in Tokyo next week")]
    );
}

#[test]
fn rich_rpid_cipid_and_devices() {
    let p = parse_fixture("rich_rpid.xml");
    let tuple = &p.tuples[0];
    assert_eq!(
        tuple.device_id.as_deref(),
        Some("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    );
    assert_eq!(
        tuple.contact.as_ref().map(|c| c.uri.as_str()),
        Some("sip:carol@pc.example.com")
    );
    let person = p.person.as_ref().unwrap();
    assert_eq!(
        person.activities,
        vec![Activity::Meeting, Activity::OnThePhone]
    );
    assert_eq!(person.user_input, Some(UserInput::Idle));
    assert_eq!(
        person.place_types,
        vec![
            PlaceType::Location("office".into()),
            PlaceType::Other("lab".into())
        ]
    );
    assert_eq!(
        person.time_offset,
        Some(TimeOffset {
            minutes: -300,
            description: Some("Eastern Standard Time".into())
        })
    );
    assert_eq!(
        person.identity,
        Identity {
            display_name: Some("Carol Example".into()),
            card: Some("http://example.com/~carol/card.vcd".into()),
            homepage: Some("http://example.com/~carol".into()),
            icon: Some("http://example.com/~carol/icon.gif".into()),
        }
    );
    assert_eq!(
        person.notes,
        vec![
            Note::new("Far away"),
            lang_note("Working on the report", "en")
        ]
    );
    assert_eq!(
        person.timestamp.as_deref(),
        Some("2005-05-30T22:02:44+05:00")
    );
    assert_eq!(p.devices.len(), 1);
    assert_eq!(p.devices[0].id, "pc122");
    assert_eq!(p.devices[0].user_input, Some(UserInput::Idle));
    assert_eq!(p.devices[0].notes, vec![Note::new("PC")]);
    // meeting -> Busy, user-input idle -> Busy-Idle.
    assert_eq!(p.availability(), Availability::BUSY_IDLE);
}

#[test]
fn herald_extension_wins_and_carries_card_and_out_of_office() {
    let p = parse_fixture("herald_client.xml");
    let person = p.person.as_ref().unwrap();
    assert_eq!(person.availability, Some(Availability::BE_RIGHT_BACK));
    assert_eq!(p.derived_availability(), Availability::AWAY);
    assert_eq!(p.availability(), Availability::BE_RIGHT_BACK);
    assert_eq!(
        person.card,
        Some(ContactCard {
            display_name: Some("Dave Example".into()),
            title: Some("Support lead".into()),
            email: Some("dave@example.com".into()),
            phone: Some("+1 555 0199".into()),
        })
    );
    assert_eq!(
        person.out_of_office,
        Some(lang_note("Out until Monday", "en"))
    );
    assert_eq!(person.notes, vec![lang_note("Back in 5", "en")]);
}

#[test]
fn kamailio_pua_with_scheme_less_entity_and_stray_text() {
    let p = parse_fixture("kamailio_pua.xml");
    assert_eq!(p.entity, "system@kamailio.org");
    assert_eq!(p.availability(), Availability::AWAY);
    assert_eq!(p.personal_notes(), &[Note::new("CPU:16 MEM:476")]);
}

const HEAD: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:ha="urn:herald:params:xml:ns:pidf:availability" xmlns:x="urn:example:ext" entity="sip:a@example.com">"#;
const OPEN_TUPLE: &str = "<tuple id='t'><status><basic>open</basic></status></tuple>";

fn doc(body: &str) -> String {
    format!("{HEAD}{body}</presence>")
}

fn refused(document: &str) -> (ErrorKind, String) {
    let err = parse_pidf(document.as_bytes(), &Limits::DOCUMENT).expect_err(document);
    (err.kind(), err.reason().to_owned())
}

#[test]
fn invalid_documents_are_refused_with_a_reason() {
    let cases: Vec<(String, ErrorKind, &str)> = vec![
        ("<presence entity='sip:a@b'/>".into(), ErrorKind::Invalid, "root element is not PIDF <presence>"),
        ("<x:presence xmlns:x='urn:other' entity='sip:a@b'/>".into(), ErrorKind::Invalid, "root element is not PIDF <presence>"),
        ("<presence xmlns='urn:ietf:params:xml:ns:pidf'/>".into(), ErrorKind::Invalid, "presence entity is not a URI"),
        ("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity=' '/>".into(), ErrorKind::Invalid, "presence entity is not a URI"),
        (doc("<tuple id='t'><status><basic>busy</basic></status></tuple>"), ErrorKind::Invalid, "basic must be open or closed"),
        (doc("<tuple id='t'><status><basic>open</basic><basic>open</basic></status></tuple>"), ErrorKind::Invalid, "status with two <basic>"),
        (doc("<tuple id='t'/>"), ErrorKind::Invalid, "tuple without <status>"),
        (doc("<tuple><status/></tuple>"), ErrorKind::Invalid, "<tuple> without id"),
        (doc("<tuple id=''><status/></tuple>"), ErrorKind::Invalid, "bad id on <tuple>"),
        (doc("<tuple id='t'><status/><status/></tuple>"), ErrorKind::Invalid, "tuple with two <status>"),
        (doc("<tuple id='t'><status/><contact>sip:a@b</contact><contact>sip:c@d</contact></tuple>"), ErrorKind::Invalid, "tuple with two <contact>"),
        (doc("<tuple id='t'><status/><contact priority='2'>sip:a@b</contact></tuple>"), ErrorKind::Invalid, "contact priority must be a decimal from 0 to 1"),
        (doc("<tuple id='t'><status/><bogus/></tuple>"), ErrorKind::Invalid, "unexpected <bogus> in <tuple>"),
        (doc("<bogus/>"), ErrorKind::Invalid, "unexpected <bogus> in <presence>"),
        (doc("<tuple id='t'><status><wrong/></status></tuple>"), ErrorKind::Invalid, "unexpected <wrong> in <status>"),
        (doc("<tuple id='t'><status/><timestamp>yesterday at noon</timestamp></tuple>"), ErrorKind::Invalid, "bad <timestamp>"),
        (doc("<dm:person><rpid:user-input>sleepy</rpid:user-input></dm:person>"), ErrorKind::Invalid, "user-input must be active or idle"),
        (doc("<dm:person><rpid:time-offset>1441</rpid:time-offset></dm:person>"), ErrorKind::Invalid, "time-offset must be minutes from -1440 to 1440"),
        (doc("<dm:person><rpid:time-offset>soon</rpid:time-offset></dm:person>"), ErrorKind::Invalid, "time-offset must be minutes from -1440 to 1440"),
        (doc("<dm:person><ha:availability>-1</ha:availability></dm:person>"), ErrorKind::Invalid, "availability must be a number from 0 to 99999"),
        (doc("<dm:person><ha:availability>100000</ha:availability></dm:person>"), ErrorKind::Invalid, "availability must be a number from 0 to 99999"),
        (doc("<dm:person><ha:availability>+5</ha:availability></dm:person>"), ErrorKind::Invalid, "availability must be a number from 0 to 99999"),
        (doc("<dm:person><ha:availability></ha:availability></dm:person>"), ErrorKind::Invalid, "availability must be a number from 0 to 99999"),
        (doc("<dm:person><ha:availability>99999999999999999999</ha:availability></dm:person>"), ErrorKind::Invalid, "availability must be a number from 0 to 99999"),
        (doc("<dm:device id='d'><dm:deviceID> </dm:deviceID></dm:device>"), ErrorKind::Invalid, "deviceID is not a URI"),
        (doc("<x:secret mustUnderstand='true'/>"), ErrorKind::Unsupported, "extension <secret> must be understood"),
        (doc("<tuple id='t'><status><basic>open</basic><x:s xmlns:p='urn:ietf:params:xml:ns:pidf' p:mustUnderstand='1'/></status></tuple>"), ErrorKind::Unsupported, "extension <s> must be understood"),
        (doc("<dm:person><rpid:mood mustUnderstand='true'/></dm:person>"), ErrorKind::Unsupported, "extension <mood> must be understood"),
        (doc("<tuple id='t'><status><basic>open</basic></status>"), ErrorKind::Malformed, ""),
        (doc("<tuple id='t'></tupel>"), ErrorKind::Malformed, ""),
        (doc("<y:tuple/>"), ErrorKind::Malformed, "undeclared prefix in y:tuple"),
        ("not xml at all".into(), ErrorKind::Malformed, "text outside the root element"),
        ("<!-- only a comment -->".into(), ErrorKind::Malformed, "no root element"),
        (
            "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]><presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'><note>&lol2;</note></presence>".into(),
            ErrorKind::Malformed,
            "DTDs are not accepted",
        ),
    ];
    for (document, kind, reason) in &cases {
        let (got_kind, got_reason) = refused(document);
        assert_eq!(got_kind, *kind, "{document}: {got_reason}");
        if !reason.is_empty() {
            assert_eq!(got_reason, *reason, "{document}");
        }
    }
}

#[test]
fn extensions_without_must_understand_are_ignored() {
    let p = parse_pidf(
        doc(&format!(
            "{OPEN_TUPLE}<x:anything x:mustUnderstand='true'><x:deep/></x:anything><x:other mustUnderstand='false'/>\
             <dm:person id='p'><x:ext/><rpid:activities><rpid:busy/><rpid:future-activity/><x:foo/></rpid:activities></dm:person>"
        ))
        .as_bytes(),
        &Limits::DOCUMENT,
    )
    .unwrap();
    assert_eq!(p.person.unwrap().activities, vec![Activity::Busy]);
}

#[test]
fn only_the_first_person_is_kept_but_all_are_checked() {
    let two = doc(&format!(
        "{OPEN_TUPLE}<dm:person id='a'><rpid:activities><rpid:busy/></rpid:activities></dm:person><dm:person id='b'/>"
    ));
    let p = parse_pidf(two.as_bytes(), &Limits::DOCUMENT).unwrap();
    assert_eq!(p.person.map(|p| p.id).as_deref(), Some("a"));
    let bad_second = doc(&format!(
        "{OPEN_TUPLE}<dm:person id='a'/><dm:person><ha:availability>x</ha:availability></dm:person>"
    ));
    assert!(parse_pidf(bad_second.as_bytes(), &Limits::DOCUMENT).is_err());
}

#[test]
fn empty_notes_and_values_are_dropped_and_text_is_trimmed() {
    let p = parse_pidf(
        doc("<note>  </note><note xml:lang=''>\n  Hello  \n</note><dm:person><rpid:activities><rpid:other> </rpid:other></rpid:activities><ha:card><ha:title/></ha:card></dm:person>")
            .as_bytes(),
        &Limits::DOCUMENT,
    )
    .unwrap();
    assert_eq!(p.notes, vec![Note::new("Hello")]);
    let person = p.person.unwrap();
    assert!(person.activities.is_empty());
    assert_eq!(person.card, None);
    assert_eq!(person.id, "");
    // No tuple at all is valid PIDF: the endpoint is open by default.
    assert!(p.tuples.is_empty());
}

#[test]
fn hostile_sizes_are_refused_by_limits() {
    let deep = doc(&format!("{}{}", "<x:a>".repeat(40), "</x:a>".repeat(40)));
    assert_eq!(refused(&deep).0, ErrorKind::TooComplex);
    let wide = doc(&"<x:a/>".repeat(3_000));
    assert_eq!(refused(&wide).0, ErrorKind::TooComplex);
    let long_note = doc(&format!("<note>{}</note>", "n".repeat(9_000)));
    assert_eq!(refused(&long_note).0, ErrorKind::TooComplex);
    let huge = doc(&format!("<note>{}</note>", "n ".repeat(40_000)));
    assert_eq!(refused(&huge).0, ErrorKind::TooLarge);
    let many_attrs = doc(&format!(
        "<x:a {}/>",
        (0..40)
            .map(|i| format!("a{i}='v'"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    assert_eq!(refused(&many_attrs).0, ErrorKind::TooComplex);
}

#[test]
fn errors_never_leak_input_into_reason_phrases_unsafely() {
    let evil = doc("<tuple id='t'><status/><evil\u{e9}name\u{7f}/></tuple>");
    let (_, reason) = refused(&evil);
    assert!(
        reason.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "{reason:?}"
    );
}
