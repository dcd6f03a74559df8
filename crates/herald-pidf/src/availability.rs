//! The availability scale and the one mapping between it and PIDF/RPID.
//!
//! Herald keeps presence as a number on Lync's availability scale, so that several
//! endpoints can be compared and aggregated, and so that Lync-aware clients can publish
//! states RPID lacks (Do Not Disturb, Be Right Back).
//!
//! ## The scale
//!
//! | Number        | Band            | Canonical value |
//! |---------------|-----------------|-----------------|
//! | 0 – 4499      | Available       | 3500            |
//! | 4500 – 5999   | Available-Idle  | 4500            |
//! | 6000 – 7499   | Busy            | 6000            |
//! | 7500 – 8999   | Busy-Idle       | 7500            |
//! | 9000 – 11999  | Do Not Disturb  | 9000            |
//! | 12000 – 14999 | Be Right Back   | 12000           |
//! | 15000 – 17999 | Away            | 15000           |
//! | ≥ 18000       | Offline         | 18000           |
//!
//! ## Published document → number
//!
//! | Published                                                              | Number |
//! |------------------------------------------------------------------------|--------|
//! | `<ha:availability>N</ha:availability>` in `<person>`                   | N (wins over everything below) |
//! | `basic` is `closed` in every tuple that states a basic status          | 18000 Offline |
//! | open (or no basic at all), no activity below                           | 3500 Available |
//! | `busy`, `on-the-phone`, `meeting`, `appointment`                       | 6000 Busy |
//! | `presentation`, `performance`                                          | 9000 Do Not Disturb (Lync shows presenting as DND) |
//! | `breakfast`, `dinner`, `meal`, `<rpid:other>lunch</rpid:other>`        | 12000 Be Right Back |
//! | `away`, `sleeping`, `vacation`, `holiday`, `travel`, `steering`        | 15000 Away |
//! | `permanent-absence`                                                    | 18000 Offline |
//! | any other activity (`working`, `unknown`, `other`, ...)                | 3500 Available |
//! | `user-input` idle (person, else any device or tuple, none active)      | turns 3500 into 4500 and 6000 into 7500 |
//!
//! Several activities at once: the highest number wins (a person both `working` and in
//! a `meeting` is Busy).
//!
//! ## Number → what plain PIDF/RPID watchers receive
//!
//! | Band            | basic    | activity | user-input |
//! |-----------------|----------|----------|------------|
//! | Available       | open     | —        | —          |
//! | Available-Idle  | open     | —        | idle       |
//! | Busy            | open     | busy     | —          |
//! | Busy-Idle       | open     | busy     | idle       |
//! | Do Not Disturb  | open     | busy     | —          |
//! | Be Right Back   | open     | away     | —          |
//! | Away            | open     | away     | —          |
//! | Offline         | closed   | —        | —          |
//!
//! Only `busy` and `away` are used because they are the activities common clients
//! display (PJSIP understands exactly these two); DND is shown as busy, the nearest
//! meaning. The exact number always travels in `<ha:availability>` as well.

use std::fmt;

use crate::activity::Activity;
use crate::model::{Basic, Publication, UserInput};

/// A number on the availability scale (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Availability(u32);

impl Availability {
    /// 3500: Available.
    pub const AVAILABLE: Availability = Availability(3500);
    /// 4500: Available, but the user is not at the device.
    pub const AVAILABLE_IDLE: Availability = Availability(4500);
    /// 6000: Busy.
    pub const BUSY: Availability = Availability(6000);
    /// 7500: Busy, and the user is not at the device.
    pub const BUSY_IDLE: Availability = Availability(7500);
    /// 9000: Do Not Disturb.
    pub const DO_NOT_DISTURB: Availability = Availability(9000);
    /// 12000: Be Right Back.
    pub const BE_RIGHT_BACK: Availability = Availability(12000);
    /// 15000: Away.
    pub const AWAY: Availability = Availability(15000);
    /// 18000: Offline.
    pub const OFFLINE: Availability = Availability(18000);
    /// Largest number accepted from a client: everything from 18000 up means Offline,
    /// and a bound keeps the value meaningful.
    pub const MAX: u32 = 99_999;

    /// `value` when it is at most [`Availability::MAX`].
    pub fn new(value: u32) -> Option<Availability> {
        (value <= Self::MAX).then_some(Availability(value))
    }

    /// The number.
    pub fn value(self) -> u32 {
        self.0
    }

    /// The band the number falls in.
    pub fn band(self) -> Band {
        match self.0 {
            0..=4499 => Band::Available,
            4500..=5999 => Band::AvailableIdle,
            6000..=7499 => Band::Busy,
            7500..=8999 => Band::BusyIdle,
            9000..=11999 => Band::DoNotDisturb,
            12000..=14999 => Band::BeRightBack,
            15000..=17999 => Band::Away,
            _ => Band::Offline,
        }
    }

    /// Whether the number says the user is away from an otherwise available or busy
    /// device (the two idle bands).
    pub fn is_idle(self) -> bool {
        matches!(self.band(), Band::AvailableIdle | Band::BusyIdle)
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.band())
    }
}

/// The named ranges of the scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    /// 0 – 4499.
    Available,
    /// 4500 – 5999.
    AvailableIdle,
    /// 6000 – 7499.
    Busy,
    /// 7500 – 8999.
    BusyIdle,
    /// 9000 – 11999.
    DoNotDisturb,
    /// 12000 – 14999.
    BeRightBack,
    /// 15000 – 17999.
    Away,
    /// 18000 and above.
    Offline,
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Band::Available => "Available",
            Band::AvailableIdle => "Available-Idle",
            Band::Busy => "Busy",
            Band::BusyIdle => "Busy-Idle",
            Band::DoNotDisturb => "Do Not Disturb",
            Band::BeRightBack => "Be Right Back",
            Band::Away => "Away",
            Band::Offline => "Offline",
        })
    }
}

/// RPID activities that move the number, and where to (the table in the module docs).
const ACTIVITY_AVAILABILITY: &[(Activity, Availability)] = &[
    (Activity::Busy, Availability::BUSY),
    (Activity::OnThePhone, Availability::BUSY),
    (Activity::Meeting, Availability::BUSY),
    (Activity::Appointment, Availability::BUSY),
    (Activity::Presentation, Availability::DO_NOT_DISTURB),
    (Activity::Performance, Availability::DO_NOT_DISTURB),
    (Activity::Breakfast, Availability::BE_RIGHT_BACK),
    (Activity::Dinner, Availability::BE_RIGHT_BACK),
    (Activity::Meal, Availability::BE_RIGHT_BACK),
    (Activity::Away, Availability::AWAY),
    (Activity::Sleeping, Availability::AWAY),
    (Activity::Vacation, Availability::AWAY),
    (Activity::Holiday, Availability::AWAY),
    (Activity::Travel, Availability::AWAY),
    (Activity::Steering, Availability::AWAY),
    (Activity::PermanentAbsence, Availability::OFFLINE),
];

/// RPID has no `lunch`; clients that want it publish `<rpid:other>lunch</rpid:other>`.
const OTHER_LUNCH: &str = "lunch";

/// The number one activity stands for on its own.
pub fn activity_availability(activity: &Activity) -> Availability {
    if let Activity::Other(text) = activity
        && text.eq_ignore_ascii_case(OTHER_LUNCH)
    {
        return Availability::BE_RIGHT_BACK;
    }
    ACTIVITY_AVAILABILITY
        .iter()
        .find(|(a, _)| a == activity)
        .map_or(Availability::AVAILABLE, |(_, number)| *number)
}

/// The number a set of activities stands for (the highest of them, Available when
/// none moves it), made idle by `idle` user input.
pub fn activities_availability(activities: &[Activity], idle: bool) -> Availability {
    let number = activities
        .iter()
        .map(activity_availability)
        .max()
        .unwrap_or(Availability::AVAILABLE);
    match (number, idle) {
        (Availability::AVAILABLE, true) => Availability::AVAILABLE_IDLE,
        (Availability::BUSY, true) => Availability::BUSY_IDLE,
        (number, _) => number,
    }
}

/// What a plain PIDF/RPID watcher is told for a number (the last table of the module
/// docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpidView {
    /// The tuple's basic status.
    pub basic: Basic,
    /// The one activity to show, if any.
    pub activity: Option<Activity>,
    /// `user-input` to show, if any.
    pub user_input: Option<UserInput>,
}

/// The RPID rendering of `availability`.
pub fn rpid_view(availability: Availability) -> RpidView {
    let (basic, activity, user_input) = match availability.band() {
        Band::Available => (Basic::Open, None, None),
        Band::AvailableIdle => (Basic::Open, None, Some(UserInput::Idle)),
        Band::Busy => (Basic::Open, Some(Activity::Busy), None),
        Band::BusyIdle => (Basic::Open, Some(Activity::Busy), Some(UserInput::Idle)),
        Band::DoNotDisturb => (Basic::Open, Some(Activity::Busy), None),
        Band::BeRightBack => (Basic::Open, Some(Activity::Away), None),
        Band::Away => (Basic::Open, Some(Activity::Away), None),
        Band::Offline => (Basic::Closed, None, None),
    };
    RpidView {
        basic,
        activity,
        user_input,
    }
}

impl Publication {
    /// The document's basic status: open if any tuple says open, closed if at least
    /// one says closed and none open, `None` if no tuple states one.
    pub fn basic(&self) -> Option<Basic> {
        let mut closed = false;
        for basic in self.tuples.iter().filter_map(|t| t.basic) {
            match basic {
                Basic::Open => return Some(Basic::Open),
                Basic::Closed => closed = true,
            }
        }
        closed.then_some(Basic::Closed)
    }

    /// The user-input state of the endpoint: the person's, else idle when some device
    /// or tuple says idle and none says active.
    pub fn user_input(&self) -> Option<UserInput> {
        if let Some(input) = self.person.as_ref().and_then(|p| p.user_input) {
            return Some(input);
        }
        let reported = self
            .devices
            .iter()
            .filter_map(|d| d.user_input)
            .chain(self.tuples.iter().filter_map(|t| t.user_input));
        let mut idle = false;
        for input in reported {
            match input {
                UserInput::Active => return Some(UserInput::Active),
                UserInput::Idle => idle = true,
            }
        }
        idle.then_some(UserInput::Idle)
    }

    /// The number derived from basic status, activities and user-input (ignoring any
    /// explicit `<ha:availability>`).
    pub fn derived_availability(&self) -> Availability {
        if self.basic() == Some(Basic::Closed) {
            return Availability::OFFLINE;
        }
        let activities = self
            .person
            .as_ref()
            .map_or(&[][..], |p| p.activities.as_slice());
        activities_availability(activities, self.user_input() == Some(UserInput::Idle))
    }

    /// The endpoint's number: the explicit `<ha:availability>` if published, else the
    /// derived one.
    pub fn availability(&self) -> Availability {
        self.person
            .as_ref()
            .and_then(|p| p.availability)
            .unwrap_or_else(|| self.derived_availability())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Device, Person, Tuple};

    fn publication(
        basic: Option<Basic>,
        activities: &[Activity],
        input: Option<UserInput>,
    ) -> Publication {
        Publication {
            entity: "sip:a@example.com".into(),
            tuples: vec![Tuple {
                id: "t".into(),
                basic,
                ..Tuple::default()
            }],
            person: Some(Person {
                id: "p".into(),
                activities: activities.to_vec(),
                user_input: input,
                ..Person::default()
            }),
            ..Publication::default()
        }
    }

    #[test]
    fn bands_cover_the_scale_at_their_edges() {
        let cases = [
            (0, Band::Available),
            (3500, Band::Available),
            (4499, Band::Available),
            (4500, Band::AvailableIdle),
            (5999, Band::AvailableIdle),
            (6000, Band::Busy),
            (7499, Band::Busy),
            (7500, Band::BusyIdle),
            (8999, Band::BusyIdle),
            (9000, Band::DoNotDisturb),
            (11999, Band::DoNotDisturb),
            (12000, Band::BeRightBack),
            (14999, Band::BeRightBack),
            (15000, Band::Away),
            (17999, Band::Away),
            (18000, Band::Offline),
            (Availability::MAX, Band::Offline),
        ];
        for (value, band) in cases {
            assert_eq!(
                Availability::new(value).map(Availability::band),
                Some(band),
                "{value}"
            );
        }
        assert_eq!(Availability::new(Availability::MAX + 1), None);
        assert!(Availability::AVAILABLE_IDLE.is_idle() && Availability::BUSY_IDLE.is_idle());
        assert!(!Availability::AVAILABLE.is_idle() && !Availability::DO_NOT_DISTURB.is_idle());
        assert_eq!(Availability::BUSY.to_string(), "6000 (Busy)");
    }

    #[test]
    fn derivation_follows_the_table() {
        use Activity::*;
        let open = Some(Basic::Open);
        let idle = Some(UserInput::Idle);
        /// basic, activities, user-input, expected number.
        type Case<'a> = (Option<Basic>, &'a [Activity], Option<UserInput>, u32);
        let cases: &[Case<'_>] = &[
            (Some(Basic::Closed), &[], None, 18000),
            (Some(Basic::Closed), &[Busy], None, 18000),
            (open, &[], None, 3500),
            (None, &[], None, 3500),
            (open, &[Busy], None, 6000),
            (open, &[OnThePhone], None, 6000),
            (open, &[Meeting], None, 6000),
            (open, &[Appointment], None, 6000),
            (open, &[Presentation], None, 9000),
            (open, &[Performance], None, 9000),
            (open, &[Breakfast], None, 12000),
            (open, &[Dinner], None, 12000),
            (open, &[Meal], None, 12000),
            (open, &[Other("Lunch".into())], None, 12000),
            (open, &[Away], None, 15000),
            (open, &[Sleeping], None, 15000),
            (open, &[Vacation], None, 15000),
            (open, &[Holiday], None, 15000),
            (open, &[Travel], None, 15000),
            (open, &[Steering], None, 15000),
            (open, &[PermanentAbsence], None, 18000),
            (open, &[Working], None, 3500),
            (open, &[Unknown], None, 3500),
            (open, &[Other("gardening".into())], None, 3500),
            (open, &[], idle, 4500),
            (open, &[Busy], idle, 7500),
            (open, &[Presentation], idle, 9000),
            (open, &[Away], idle, 15000),
            (open, &[Busy], Some(UserInput::Active), 6000),
            (open, &[Working, Meeting], None, 6000),
            (open, &[Meeting, Away], None, 15000),
        ];
        for (basic, activities, input, expected) in cases {
            let p = publication(*basic, activities, *input);
            assert_eq!(
                p.availability().value(),
                *expected,
                "{basic:?} {activities:?} {input:?}"
            );
        }
    }

    #[test]
    fn basic_is_closed_only_when_no_tuple_is_open() {
        let mut p = publication(Some(Basic::Closed), &[], None);
        p.tuples.push(Tuple {
            id: "u".into(),
            basic: None,
            ..Tuple::default()
        });
        assert_eq!(p.basic(), Some(Basic::Closed));
        p.tuples.push(Tuple {
            id: "v".into(),
            basic: Some(Basic::Open),
            ..Tuple::default()
        });
        assert_eq!(p.basic(), Some(Basic::Open));
        assert_eq!(p.availability(), Availability::AVAILABLE);
        p.tuples.clear();
        assert_eq!(p.basic(), None);
    }

    #[test]
    fn explicit_number_wins() {
        let mut p = publication(
            Some(Basic::Closed),
            &[Activity::Busy],
            Some(UserInput::Idle),
        );
        p.person.as_mut().unwrap().availability = Availability::new(9000);
        assert_eq!(p.availability(), Availability::DO_NOT_DISTURB);
        assert_eq!(p.derived_availability(), Availability::OFFLINE);
    }

    #[test]
    fn device_idle_counts_only_when_person_is_silent_and_nothing_is_active() {
        let mut p = publication(Some(Basic::Open), &[], None);
        p.devices.push(Device {
            id: "d1".into(),
            user_input: Some(UserInput::Idle),
            ..Device::default()
        });
        assert_eq!(p.availability(), Availability::AVAILABLE_IDLE);
        p.tuples[0].user_input = Some(UserInput::Active);
        assert_eq!(p.availability(), Availability::AVAILABLE);
        p.person.as_mut().unwrap().user_input = Some(UserInput::Idle);
        assert_eq!(p.availability(), Availability::AVAILABLE_IDLE);
    }

    #[test]
    fn rpid_view_reads_back_to_the_same_band_except_the_documented_losses() {
        for band_start in [0, 3500, 4500, 6000, 7500, 9000, 12000, 15000, 18000, 25000] {
            let number = Availability::new(band_start).unwrap();
            let view = rpid_view(number);
            let p = publication(Some(view.basic), view.activity.as_slice(), view.user_input);
            let expected = match number.band() {
                Band::DoNotDisturb => Band::Busy,
                Band::BeRightBack => Band::Away,
                band => band,
            };
            assert_eq!(p.derived_availability().band(), expected, "{number}");
        }
    }
}
