//! One user's presence from all their endpoints (Lync's "multiple points of presence").
//!
//! ## The rule: the most relevant endpoint wins
//!
//! Each endpoint has a number ([`Publication::availability`]); a registered endpoint
//! that never published counts as Available (3500), not idle. An endpoint is *active*
//! when its number is below 12000 (Be Right Back) and not in an idle band
//! (4500–5999, 7500–8999).
//!
//! 1. If any endpoint is active, the aggregate is the **highest** number among the
//!    active ones: the user is at those devices, and the busiest one says what
//!    interrupting them costs (an active busy phone beats an active available PC).
//! 2. Otherwise, if any endpoint is below 18000, the **lowest** number among those:
//!    the user is nearest that state (an idle available PC beats an away phone).
//! 3. Otherwise (no endpoint, or all offline) the user is Offline (18000).
//!
//! Ties go to the most recent publication (`published_at`, then the later endpoint in
//! the slice). The winning endpoint's activities are kept when they mean the same band
//! as the aggregate number (so a Colleague sees "meeting" rather than just "busy").
//!
//! Person-level data does not follow the winner: each item (personal notes, the
//! out-of-office note, the contact card, CIPID identity, place type, time offset) comes
//! from the most recent publication that has it, whatever its availability, because
//! that is the last thing the user said about it. Devices are the union over all
//! publications (most recent first, one entry per device id).

use std::cmp::Reverse;

use crate::activity::Activity;
use crate::availability::Availability;
use crate::model::{ContactCard, Device, Identity, Note, PlaceType, Publication, TimeOffset};

/// One registered endpoint of the user, as the presence service tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointState<'a> {
    /// Its live publication; `None` for an endpoint that is registered but never
    /// published (it counts as Available).
    pub publication: Option<&'a Publication>,
    /// When it last published (or registered): any clock that only goes forward, such
    /// as milliseconds since the server started. Used to break ties and to pick the
    /// latest person-level data.
    pub published_at: u64,
}

/// A user's aggregated presence: what [`crate::render`] turns into a document for each
/// watcher. Compare two aggregates to decide whether watchers need a NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The aggregated number.
    pub availability: Availability,
    /// The winning endpoint's activities, when they agree with `availability`'s band.
    pub activities: Vec<Activity>,
    /// Personal notes.
    pub notes: Vec<Note>,
    /// The out-of-office note.
    pub out_of_office: Option<Note>,
    /// The Herald contact card.
    pub card: Option<ContactCard>,
    /// CIPID identity (display name, vCard, homepage, icon).
    pub identity: Identity,
    /// Where the user is (RPID place-type).
    pub place_types: Vec<PlaceType>,
    /// The user's offset from UTC.
    pub time_offset: Option<TimeOffset>,
    /// The user's devices.
    pub devices: Vec<Device>,
}

impl Aggregate {
    /// A user with no live endpoint: Offline and nothing else.
    pub fn offline() -> Self {
        Aggregate {
            availability: Availability::OFFLINE,
            activities: Vec::new(),
            notes: Vec::new(),
            out_of_office: None,
            card: None,
            identity: Identity::default(),
            place_types: Vec::new(),
            time_offset: None,
            devices: Vec::new(),
        }
    }
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate::offline()
    }
}

/// The number an endpoint contributes.
fn endpoint_availability(endpoint: &EndpointState<'_>) -> Availability {
    endpoint
        .publication
        .map_or(Availability::AVAILABLE, Publication::availability)
}

fn is_active(availability: Availability) -> bool {
    availability < Availability::BE_RIGHT_BACK && !availability.is_idle()
}

/// The index of the endpoint whose state the aggregate shows (the rule in the module
/// docs), or `None` when the user is offline.
pub fn most_relevant(endpoints: &[EndpointState<'_>]) -> Option<usize> {
    let numbered = || {
        endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (i, endpoint_availability(e), e.published_at))
    };
    let active = numbered()
        .filter(|(_, number, _)| is_active(*number))
        .max_by_key(|(i, number, at)| (*number, *at, *i));
    if let Some((index, _, _)) = active {
        return Some(index);
    }
    numbered()
        .filter(|(_, number, _)| *number < Availability::OFFLINE)
        .min_by_key(|(i, number, at)| (*number, Reverse(*at), Reverse(*i)))
        .map(|(index, _, _)| index)
}

/// Aggregates a user's endpoints (the rule in the module docs).
pub fn aggregate(endpoints: &[EndpointState<'_>]) -> Aggregate {
    let mut result = Aggregate::offline();
    if let Some(winner) = most_relevant(endpoints).and_then(|index| endpoints.get(index)) {
        result.availability = endpoint_availability(winner);
        if let Some(publication) = winner.publication
            && let Some(person) = &publication.person
            && publication.derived_availability().band() == result.availability.band()
        {
            result.activities = person.activities.clone();
        }
    }

    // Most recent first; among equal times the later endpoint counts as more recent.
    let mut recent: Vec<(usize, u64, &Publication)> = endpoints
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.publication.map(|p| (i, e.published_at, p)))
        .collect();
    recent.sort_by_key(|(i, at, _)| Reverse((*at, *i)));
    let latest =
        |pick: &dyn Fn(&Publication) -> bool| recent.iter().map(|(_, _, p)| *p).find(|p| pick(p));

    if let Some(p) = latest(&|p| !p.personal_notes().is_empty()) {
        result.notes = p.personal_notes().to_vec();
    }
    let person_fields = recent.iter().filter_map(|(_, _, p)| p.person.as_ref());
    result.out_of_office = person_fields.clone().find_map(|p| p.out_of_office.clone());
    result.card = person_fields.clone().find_map(|p| p.card.clone());
    result.identity = person_fields
        .clone()
        .map(|p| &p.identity)
        .find(|i| !i.is_empty())
        .cloned()
        .unwrap_or_default();
    result.place_types = person_fields
        .clone()
        .map(|p| &p.place_types)
        .find(|t| !t.is_empty())
        .cloned()
        .unwrap_or_default();
    result.time_offset = person_fields.clone().find_map(|p| p.time_offset.clone());

    for (_, _, publication) in &recent {
        for device in &publication.devices {
            let key = device_key(device);
            if !result.devices.iter().any(|d| device_key(d) == key) {
                result.devices.push(device.clone());
            }
        }
    }
    result
}

/// Devices are the same device when their ids (or, without ids, device IDs) match.
fn device_key(device: &Device) -> (&str, Option<&str>) {
    if device.id.is_empty() {
        ("", device.device_id.as_deref())
    } else {
        (device.id.as_str(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Basic, Person, Tuple, UserInput};

    /// A publication with an explicit number (so each test row states exactly what
    /// the endpoint publishes).
    fn with_number(number: u32) -> Publication {
        Publication {
            entity: "sip:alice@example.com".into(),
            tuples: vec![Tuple {
                id: "t".into(),
                basic: Some(Basic::Open),
                ..Tuple::default()
            }],
            person: Some(Person {
                availability: Availability::new(number),
                ..Person::default()
            }),
            ..Publication::default()
        }
    }

    fn rpid(basic: Basic, activities: &[Activity], input: Option<UserInput>) -> Publication {
        Publication {
            entity: "sip:alice@example.com".into(),
            tuples: vec![Tuple {
                id: "t".into(),
                basic: Some(basic),
                ..Tuple::default()
            }],
            person: Some(Person {
                activities: activities.to_vec(),
                user_input: input,
                ..Person::default()
            }),
            ..Publication::default()
        }
    }

    /// An endpoint in a test row: `None` = registered, never published.
    type Row = (
        &'static str,
        Vec<(Option<Publication>, u64)>,
        u32,
        Option<usize>,
    );

    #[test]
    fn most_relevant_endpoint_wins() {
        use Activity::*;
        let n = |number| Some(with_number(number));
        let rows: Vec<Row> = vec![
            ("no endpoints: offline", vec![], 18000, None),
            (
                "registered, never published: available",
                vec![(None, 1)],
                3500,
                Some(0),
            ),
            ("one available", vec![(n(3500), 1)], 3500, Some(0)),
            (
                "one closed: offline",
                vec![(Some(rpid(Basic::Closed, &[], None)), 1)],
                18000,
                None,
            ),
            (
                "all offline",
                vec![(n(18000), 1), (n(20000), 2)],
                18000,
                None,
            ),
            (
                "an explicit offline number aggregates to 18000 (found by fuzzing)",
                vec![(n(43883), 1)],
                18000,
                None,
            ),
            (
                "active busy beats active available",
                vec![(n(3500), 5), (n(6000), 1)],
                6000,
                Some(1),
            ),
            (
                "active busy beats idle available",
                vec![(n(4500), 5), (n(6000), 1)],
                6000,
                Some(1),
            ),
            (
                "active available beats idle busy",
                vec![(n(7500), 5), (n(3500), 1)],
                3500,
                Some(1),
            ),
            (
                "dnd beats busy (both active)",
                vec![(n(6000), 5), (n(9000), 1)],
                9000,
                Some(1),
            ),
            (
                "active available beats away",
                vec![(n(15000), 5), (n(3500), 1)],
                3500,
                Some(1),
            ),
            (
                "active available beats be-right-back",
                vec![(n(12000), 5), (n(3500), 1)],
                3500,
                Some(1),
            ),
            (
                "never-published counts as active available",
                vec![(n(15000), 5), (None, 1)],
                3500,
                Some(1),
            ),
            (
                "nobody active: idle beats away",
                vec![(n(15000), 5), (n(4500), 1)],
                4500,
                Some(1),
            ),
            (
                "nobody active: busy-idle beats away",
                vec![(n(15000), 5), (n(7500), 1)],
                7500,
                Some(1),
            ),
            (
                "nobody active: idle available beats idle busy",
                vec![(n(7500), 5), (n(4500), 1)],
                4500,
                Some(1),
            ),
            (
                "nobody active: brb beats away",
                vec![(n(15000), 5), (n(12000), 1)],
                12000,
                Some(1),
            ),
            (
                "nobody active: away beats offline",
                vec![(n(18000), 5), (n(15000), 1)],
                15000,
                Some(1),
            ),
            (
                "active tie: most recent wins",
                vec![(n(6000), 9), (n(6000), 3)],
                6000,
                Some(0),
            ),
            (
                "inactive tie: most recent wins",
                vec![(n(15000), 2), (n(15000), 7)],
                15000,
                Some(1),
            ),
            (
                "equal times: later endpoint wins",
                vec![(n(3500), 4), (n(3500), 4)],
                3500,
                Some(1),
            ),
            (
                "rpid busy phone beats rpid available pc",
                vec![
                    (Some(rpid(Basic::Open, &[], None)), 9),
                    (Some(rpid(Basic::Open, &[OnThePhone], None)), 1),
                ],
                6000,
                Some(1),
            ),
            (
                "rpid idle pc and away phone: idle pc",
                vec![
                    (Some(rpid(Basic::Open, &[], Some(UserInput::Idle))), 1),
                    (Some(rpid(Basic::Open, &[Away], None)), 9),
                ],
                4500,
                Some(0),
            ),
            (
                "closed pc, open phone: phone",
                vec![
                    (Some(rpid(Basic::Closed, &[], None)), 9),
                    (Some(rpid(Basic::Open, &[], None)), 1),
                ],
                3500,
                Some(1),
            ),
            (
                "values inside bands compare as numbers",
                vec![(n(6100), 1), (n(6200), 0)],
                6200,
                Some(1),
            ),
        ];
        for (name, endpoints, expected, winner) in &rows {
            let states: Vec<EndpointState<'_>> = endpoints
                .iter()
                .map(|(p, at)| EndpointState {
                    publication: p.as_ref(),
                    published_at: *at,
                })
                .collect();
            assert_eq!(most_relevant(&states), *winner, "{name}");
            assert_eq!(aggregate(&states).availability.value(), *expected, "{name}");
        }
        assert!(rows.len() >= 15);
    }

    #[test]
    fn winner_activities_are_kept_only_when_they_mean_the_aggregate_band() {
        let meeting = rpid(Basic::Open, &[Activity::Meeting], None);
        let agg = aggregate(&[EndpointState {
            publication: Some(&meeting),
            published_at: 1,
        }]);
        assert_eq!(agg.activities, vec![Activity::Meeting]);

        let mut dnd = rpid(Basic::Open, &[Activity::Busy], None);
        dnd.person.as_mut().unwrap().availability = Some(Availability::DO_NOT_DISTURB);
        let agg = aggregate(&[EndpointState {
            publication: Some(&dnd),
            published_at: 1,
        }]);
        assert_eq!(agg.availability, Availability::DO_NOT_DISTURB);
        assert!(agg.activities.is_empty());
    }

    #[test]
    fn person_data_comes_from_the_latest_publication_that_has_it() {
        let mut old = with_number(3500);
        {
            let person = old.person.as_mut().unwrap();
            person.notes = vec![Note::new("old note")];
            person.card = Some(ContactCard {
                title: Some("Engineer".into()),
                ..ContactCard::default()
            });
            person.time_offset = Some(TimeOffset {
                minutes: 60,
                description: None,
            });
            person.out_of_office = Some(Note::new("on leave"));
        }
        old.devices = vec![Device {
            id: "pc".into(),
            ..Device::default()
        }];
        let mut new = with_number(15000);
        new.person.as_mut().unwrap().notes = vec![Note::new("new note")];
        new.devices = vec![
            Device {
                id: "phone".into(),
                ..Device::default()
            },
            Device {
                id: "pc".into(),
                user_input: Some(UserInput::Idle),
                ..Device::default()
            },
        ];
        let mut newest_without = with_number(18000);
        newest_without.notes = Vec::new();

        let agg = aggregate(&[
            EndpointState {
                publication: Some(&old),
                published_at: 1,
            },
            EndpointState {
                publication: Some(&new),
                published_at: 2,
            },
            EndpointState {
                publication: Some(&newest_without),
                published_at: 3,
            },
            EndpointState {
                publication: None,
                published_at: 4,
            },
        ]);
        assert_eq!(agg.availability, Availability::AVAILABLE);
        assert_eq!(agg.notes, vec![Note::new("new note")]);
        assert_eq!(agg.card.and_then(|c| c.title).as_deref(), Some("Engineer"));
        assert_eq!(agg.time_offset.map(|t| t.minutes), Some(60));
        assert_eq!(agg.out_of_office, Some(Note::new("on leave")));
        let devices: Vec<(&str, Option<UserInput>)> = agg
            .devices
            .iter()
            .map(|d| (d.id.as_str(), d.user_input))
            .collect();
        assert_eq!(
            devices,
            vec![("phone", None), ("pc", Some(UserInput::Idle))]
        );
    }

    #[test]
    fn notes_fall_back_to_document_and_tuple_notes() {
        let mut p = rpid(Basic::Open, &[], None);
        p.tuples[0].notes = vec![Note::new("from tuple")];
        let agg = aggregate(&[EndpointState {
            publication: Some(&p),
            published_at: 1,
        }]);
        assert_eq!(agg.notes, vec![Note::new("from tuple")]);
        p.notes = vec![Note::new("from presence")];
        let agg = aggregate(&[EndpointState {
            publication: Some(&p),
            published_at: 1,
        }]);
        assert_eq!(agg.notes, vec![Note::new("from presence")]);
    }

    #[test]
    fn offline_is_the_default() {
        assert_eq!(aggregate(&[]), Aggregate::offline());
        assert_eq!(Aggregate::default(), Aggregate::offline());
    }
}
