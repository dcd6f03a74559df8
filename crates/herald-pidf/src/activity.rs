//! RPID activities (RFC 4480 §3.2): what the person is doing.

use std::fmt;

/// One RPID activity, as found inside `<rpid:activities>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Activity {
    /// `appointment`
    Appointment,
    /// `away`
    Away,
    /// `breakfast`
    Breakfast,
    /// `busy`
    Busy,
    /// `dinner`
    Dinner,
    /// `holiday`
    Holiday,
    /// `in-transit`
    InTransit,
    /// `looking-for-work`
    LookingForWork,
    /// `meal`
    Meal,
    /// `meeting`
    Meeting,
    /// `on-the-phone`
    OnThePhone,
    /// `performance`
    Performance,
    /// `permanent-absence`
    PermanentAbsence,
    /// `playing`
    Playing,
    /// `presentation`
    Presentation,
    /// `shopping`
    Shopping,
    /// `sleeping`
    Sleeping,
    /// `spectator`
    Spectator,
    /// `steering`
    Steering,
    /// `travel`
    Travel,
    /// `tv`
    Tv,
    /// `unknown`
    Unknown,
    /// `vacation`
    Vacation,
    /// `working`
    Working,
    /// `worship`
    Worship,
    /// `<rpid:other>text</rpid:other>`: free text (trimmed, never empty).
    Other(String),
}

/// Activities with a fixed RPID element name, and that name.
const NAMED: &[(Activity, &str)] = &[
    (Activity::Appointment, "appointment"),
    (Activity::Away, "away"),
    (Activity::Breakfast, "breakfast"),
    (Activity::Busy, "busy"),
    (Activity::Dinner, "dinner"),
    (Activity::Holiday, "holiday"),
    (Activity::InTransit, "in-transit"),
    (Activity::LookingForWork, "looking-for-work"),
    (Activity::Meal, "meal"),
    (Activity::Meeting, "meeting"),
    (Activity::OnThePhone, "on-the-phone"),
    (Activity::Performance, "performance"),
    (Activity::PermanentAbsence, "permanent-absence"),
    (Activity::Playing, "playing"),
    (Activity::Presentation, "presentation"),
    (Activity::Shopping, "shopping"),
    (Activity::Sleeping, "sleeping"),
    (Activity::Spectator, "spectator"),
    (Activity::Steering, "steering"),
    (Activity::Travel, "travel"),
    (Activity::Tv, "tv"),
    (Activity::Unknown, "unknown"),
    (Activity::Vacation, "vacation"),
    (Activity::Working, "working"),
    (Activity::Worship, "worship"),
];

impl Activity {
    /// The activity whose RPID element is `name` (`other` excluded: it carries text).
    pub fn from_element_name(name: &str) -> Option<Activity> {
        NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(a, _)| a.clone())
    }

    /// The RPID element name (`other` for [`Activity::Other`]).
    pub fn element_name(&self) -> &'static str {
        NAMED
            .iter()
            .find(|(a, _)| a == self)
            .map_or("other", |(_, n)| n)
    }
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activity::Other(text) => write!(f, "other ({text})"),
            named => f.write_str(named.element_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (activity, name) in NAMED {
            assert_eq!(Activity::from_element_name(name).as_ref(), Some(activity));
            assert_eq!(activity.element_name(), *name);
        }
        assert_eq!(Activity::from_element_name("other"), None);
        assert_eq!(Activity::from_element_name("Busy"), None);
        assert_eq!(Activity::Other("gardening".into()).element_name(), "other");
        assert_eq!(Activity::OnThePhone.to_string(), "on-the-phone");
        assert_eq!(Activity::Other("x".into()).to_string(), "other (x)");
    }
}
