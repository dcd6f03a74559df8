//! `render`: what each access level sees, blocked watchers, escaping, determinism, and
//! that every rendered document parses back to the same state.

use herald_pidf::{
    AccessLevel, Activity, Aggregate, Availability, Basic, ContactCard, Device, EndpointState,
    Identity, Limits, Note, PlaceType, Publication, TimeOffset, UserInput, aggregate, parse_pidf,
    render,
};

const ALICE: &str = "sip:alice@example.com";

fn rich(availability: u32) -> Aggregate {
    Aggregate {
        availability: Availability::new(availability).unwrap(),
        activities: vec![Activity::Meeting],
        notes: vec![Note {
            text: "Planning".into(),
            lang: Some("en".into()),
        }],
        out_of_office: Some(Note::new("Out Friday")),
        card: Some(ContactCard {
            display_name: Some("Alice Example".into()),
            title: Some("Engineer".into()),
            email: Some("alice@example.com".into()),
            phone: Some("+1 555 0100".into()),
        }),
        identity: Identity {
            display_name: Some("Alice E.".into()),
            card: None,
            homepage: Some("https://example.com/alice".into()),
            icon: None,
        },
        place_types: vec![
            PlaceType::Location("office".into()),
            PlaceType::Other("lab 3".into()),
        ],
        time_offset: Some(TimeOffset {
            minutes: 120,
            description: Some("CEST".into()),
        }),
        devices: vec![Device {
            id: "pc".into(),
            device_id: Some("urn:uuid:00000000-0000-0000-0000-000000000001".into()),
            user_input: Some(UserInput::Active),
            notes: vec![Note::new("desk PC")],
            timestamp: Some("2024-05-02T09:15:27Z".into()),
        }],
    }
}

fn parse(document: &str) -> Publication {
    parse_pidf(document.as_bytes(), &Limits::DOCUMENT).unwrap_or_else(|e| panic!("{e}\n{document}"))
}

#[test]
fn public_sees_availability_only() {
    let document = render(&rich(6000), ALICE, AccessLevel::Public);
    let p = parse(&document);
    assert_eq!(p.entity, ALICE);
    assert_eq!(p.basic(), Some(Basic::Open));
    let person = p.person.as_ref().unwrap();
    // The canonical activity, not the published "meeting".
    assert_eq!(person.activities, vec![Activity::Busy]);
    assert_eq!(person.availability, Some(Availability::BUSY));
    assert!(person.notes.is_empty() && person.out_of_office.is_none() && person.card.is_none());
    assert!(
        person.identity.is_empty() && person.place_types.is_empty() && person.time_offset.is_none()
    );
    assert!(p.devices.is_empty());
    for secret in [
        "Planning",
        "Out Friday",
        "Engineer",
        "Alice E",
        "lt:office",
        "CEST",
        "desk PC",
        "urn:uuid",
    ] {
        assert!(
            !document.contains(secret),
            "{secret} leaked to Public:\n{document}"
        );
    }
}

#[test]
fn colleagues_add_out_of_office_card_and_activities_but_not_the_personal_note() {
    let document = render(&rich(6000), ALICE, AccessLevel::Colleagues);
    let person = parse(&document).person.unwrap();
    assert_eq!(person.activities, vec![Activity::Meeting]);
    // The out-of-office note stands in for the personal one, which is not theirs to see.
    assert_eq!(person.notes, vec![Note::new("Out Friday")]);
    for note in &rich(6000).notes {
        assert!(
            !document.contains(&note.text),
            "personal note leaked to Colleagues:\n{document}"
        );
    }
    assert_eq!(person.out_of_office, Some(Note::new("Out Friday")));
    assert_eq!(person.card, rich(6000).card);
    assert_eq!(person.identity, rich(6000).identity);
    assert!(person.place_types.is_empty() && person.time_offset.is_none());
    for secret in ["lt:office", "CEST", "desk PC", "urn:uuid"] {
        assert!(
            !document.contains(secret),
            "{secret} leaked to Colleagues:\n{document}"
        );
    }
}

#[test]
fn workgroup_and_friends_see_everything_and_it_survives_a_round_trip() {
    let original = rich(7500);
    let workgroup = render(&original, ALICE, AccessLevel::Workgroup);
    assert_eq!(
        workgroup,
        render(&original, ALICE, AccessLevel::FriendsFamily)
    );
    let publication = parse(&workgroup);
    let again = aggregate(&[EndpointState {
        publication: Some(&publication),
        published_at: 1,
    }]);
    assert_eq!(again, original);
}

#[test]
fn blocked_is_byte_for_byte_an_offline_user() {
    let offline_public = render(&Aggregate::offline(), ALICE, AccessLevel::Public);
    for availability in [3500, 6000, 9000, 15000, 18000] {
        assert_eq!(
            render(&rich(availability), ALICE, AccessLevel::Blocked),
            offline_public
        );
    }
    let p = parse(&offline_public);
    assert_eq!(p.basic(), Some(Basic::Closed));
    assert_eq!(p.availability(), Availability::OFFLINE);
    assert_eq!(p.derived_availability(), Availability::OFFLINE);
    // A really offline user seen by a colleague shows no more than the offline notes
    // and card it has; with none, the colleague's document is the blocked one too.
    assert_eq!(
        render(&Aggregate::offline(), ALICE, AccessLevel::Colleagues),
        offline_public
    );
}

#[test]
fn every_band_round_trips_at_every_level() {
    for number in [
        0, 3500, 4499, 4500, 6000, 7000, 7500, 9000, 12000, 15000, 18000, 99_999,
    ] {
        for level in AccessLevel::ALL {
            let agg = Aggregate {
                availability: Availability::new(number).unwrap(),
                ..rich(number)
            };
            let document = render(&agg, ALICE, level);
            let p = parse(&document);
            let expected = if level == AccessLevel::Blocked {
                Availability::OFFLINE
            } else {
                agg.availability
            };
            assert_eq!(p.availability(), expected, "{number} {level}");
            // A client that ignores the Herald element still lands in the right place
            // (DND reads as busy, be-right-back as away: the documented losses).
            let derived_band = p.derived_availability().band();
            let band = expected.band();
            let acceptable = derived_band == band
                || (band == herald_pidf::Band::DoNotDisturb
                    && derived_band == herald_pidf::Band::Busy)
                || (band == herald_pidf::Band::BeRightBack
                    && derived_band == herald_pidf::Band::Away);
            assert!(
                acceptable,
                "{number} {level}: plain clients see {derived_band}"
            );
        }
    }
}

#[test]
fn published_activities_that_contradict_the_number_are_not_shown() {
    // Not something aggregate() produces, but render must not let a plain client see
    // "meeting" (busy) for someone available.
    let agg = Aggregate {
        activities: vec![Activity::Meeting],
        ..rich(3500)
    };
    let person = parse(&render(&agg, ALICE, AccessLevel::Colleagues))
        .person
        .unwrap();
    assert!(person.activities.is_empty());
}

#[test]
fn plain_clients_get_busy_and_away_under_literal_names() {
    // PJSIP matches element names literally and reads only busy/away.
    let dnd = render(
        &Aggregate {
            availability: Availability::DO_NOT_DISTURB,
            ..Aggregate::offline()
        },
        ALICE,
        AccessLevel::Public,
    );
    assert!(
        dnd.contains("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""),
        "{dnd}"
    );
    assert!(
        dnd.contains("<tuple id=\"") && dnd.contains("<basic>open</basic>"),
        "{dnd}"
    );
    assert!(
        dnd.contains("<rpid:activities><rpid:busy/></rpid:activities>"),
        "{dnd}"
    );
    assert!(
        dnd.contains("<ha:availability>9000</ha:availability>"),
        "{dnd}"
    );
    let brb = render(
        &Aggregate {
            availability: Availability::BE_RIGHT_BACK,
            ..Aggregate::offline()
        },
        ALICE,
        AccessLevel::Public,
    );
    assert!(brb.contains("<rpid:away/>"), "{brb}");
    let idle = render(
        &Aggregate {
            availability: Availability::AVAILABLE_IDLE,
            ..Aggregate::offline()
        },
        ALICE,
        AccessLevel::Public,
    );
    assert!(
        idle.contains("<rpid:user-input>idle</rpid:user-input>") && !idle.contains("activities"),
        "{idle}"
    );
    let offline = render(&Aggregate::offline(), ALICE, AccessLevel::Public);
    assert!(
        offline.contains("<basic>closed</basic>") && !offline.contains("activities"),
        "{offline}"
    );
}

#[test]
fn hostile_text_is_escaped() {
    let hostile = "</dm:note><x>&amp; & \"q\" <![CDATA[ ]]> \u{1} end";
    let agg = Aggregate {
        availability: Availability::AVAILABLE,
        notes: vec![Note {
            text: hostile.into(),
            lang: Some("en\"><x".into()),
        }],
        card: Some(ContactCard {
            display_name: Some("<b>Bob</b>".into()),
            ..ContactCard::default()
        }),
        activities: vec![Activity::Other("</rpid:other>&".into())],
        ..Aggregate::offline()
    };
    let entity = "sip:o'brien&co@example.com";
    let document = render(&agg, entity, AccessLevel::FriendsFamily);
    assert!(
        !document.contains("<x>") && !document.contains("<b>"),
        "{document}"
    );
    let p = parse(&document);
    assert_eq!(p.entity, entity);
    let person = p.person.unwrap();
    // The control character cannot travel in XML; everything else arrives intact.
    assert_eq!(person.notes[0].text, hostile.replace('\u{1}', "\u{FFFD}"));
    assert_eq!(person.notes[0].lang.as_deref(), Some("en\"><x"));
    assert_eq!(
        person.card.unwrap().display_name.as_deref(),
        Some("<b>Bob</b>")
    );
    assert_eq!(
        person.activities,
        vec![Activity::Other("</rpid:other>&".into())]
    );
}

#[test]
fn documents_are_deterministic_with_stable_ids_per_entity() {
    let a = render(&rich(3500), ALICE, AccessLevel::Workgroup);
    assert_eq!(a, render(&rich(3500), ALICE, AccessLevel::Workgroup));
    let tuple_id = |document: &str| parse(document).tuples[0].id.clone();
    let later = render(&rich(15000), ALICE, AccessLevel::Public);
    assert_eq!(tuple_id(&a), tuple_id(&later));
    let bob = render(&rich(3500), "sip:bob@example.com", AccessLevel::Workgroup);
    assert_ne!(tuple_id(&a), tuple_id(&bob));
    assert!(tuple_id(&a).starts_with('t'));
}

#[test]
fn out_of_office_stands_in_for_a_missing_personal_note() {
    let agg = Aggregate {
        notes: Vec::new(),
        ..rich(15000)
    };
    let person = parse(&render(&agg, ALICE, AccessLevel::Colleagues))
        .person
        .unwrap();
    assert_eq!(person.notes, vec![Note::new("Out Friday")]);
    assert_eq!(person.out_of_office, Some(Note::new("Out Friday")));
}

#[test]
fn aggregated_pjsip_devices_render_for_watchers() {
    let pc = parse_pidf(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<presence entity="sip:alice@example.com" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">
 <tuple id="pc"><status><basic>open</basic></status></tuple>
 <dm:person id="pcp"><rpid:activities><rpid:away/></rpid:activities><dm:note>Gone home</dm:note></dm:person>
</presence>"#,
        &Limits::DOCUMENT,
    )
    .unwrap();
    let phone = parse_pidf(
        br#"<presence entity="sip:alice@example.com" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">
 <tuple id="ph"><status><basic>open</basic></status></tuple>
 <dm:person id="php"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>
</presence>"#,
        &Limits::DOCUMENT,
    )
    .unwrap();
    let agg = aggregate(&[
        EndpointState {
            publication: Some(&pc),
            published_at: 10,
        },
        EndpointState {
            publication: Some(&phone),
            published_at: 5,
        },
    ]);
    assert_eq!(agg.availability, Availability::BUSY);
    let colleague = parse(&render(&agg, ALICE, AccessLevel::Colleagues))
        .person
        .unwrap();
    assert_eq!(colleague.activities, vec![Activity::OnThePhone]);
    assert!(
        colleague.notes.is_empty(),
        "the personal note is for friends"
    );
    let friend = parse(&render(&agg, ALICE, AccessLevel::FriendsFamily))
        .person
        .unwrap();
    assert_eq!(friend.notes, vec![Note::new("Gone home")]);
    let public = parse(&render(&agg, ALICE, AccessLevel::Public))
        .person
        .unwrap();
    assert_eq!(public.activities, vec![Activity::Busy]);
    assert!(public.notes.is_empty());
}
