//! Access levels: how much of a user's presence a watcher may see.

use std::fmt;
use std::str::FromStr;

/// What a watcher is allowed to see of a presentity (Lync's privacy relationships).
///
/// | Level          | Sees                                                                |
/// |----------------|---------------------------------------------------------------------|
/// | Public         | basic status, one canonical activity, the availability number       |
/// | Colleagues     | + the published activities, notes (personal and out-of-office), contact card and CIPID identity |
/// | Workgroup      | + everything else: place type, time offset, devices                 |
/// | FriendsFamily  | the same document as Workgroup                                      |
/// | Blocked        | exactly the document of an offline user with no data                |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AccessLevel {
    /// Default for users of the same domain.
    #[default]
    Public,
    /// Colleagues.
    Colleagues,
    /// Workgroup.
    Workgroup,
    /// Friends and family.
    FriendsFamily,
    /// Sees the user as always offline, and can tell nothing from it.
    Blocked,
}

impl AccessLevel {
    /// Every level, from least to most trusted, then Blocked.
    pub const ALL: [AccessLevel; 5] = [
        AccessLevel::Public,
        AccessLevel::Colleagues,
        AccessLevel::Workgroup,
        AccessLevel::FriendsFamily,
        AccessLevel::Blocked,
    ];

    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Public => "public",
            AccessLevel::Colleagues => "colleagues",
            AccessLevel::Workgroup => "workgroup",
            AccessLevel::FriendsFamily => "friends",
            AccessLevel::Blocked => "blocked",
        }
    }

    /// Whether the out-of-office note, the contact card and published activities are
    /// visible (Colleagues and above).
    pub fn sees_notes_and_card(self) -> bool {
        matches!(
            self,
            AccessLevel::Colleagues | AccessLevel::Workgroup | AccessLevel::FriendsFamily
        )
    }

    /// Whether the personal note is visible: it is personal, so only for Workgroup and
    /// Friends & Family (Colleagues see the out-of-office note in its place).
    pub fn sees_personal_note(self) -> bool {
        matches!(self, AccessLevel::Workgroup | AccessLevel::FriendsFamily)
    }

    /// Whether everything (place type, time offset, devices) is visible.
    pub fn sees_everything(self) -> bool {
        matches!(self, AccessLevel::Workgroup | AccessLevel::FriendsFamily)
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no access level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAccessLevel(pub String);

impl fmt::Display for UnknownAccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown access level {:?} (expected public, colleagues, workgroup, friends or blocked)",
            self.0
        )
    }
}

impl std::error::Error for UnknownAccessLevel {}

impl FromStr for AccessLevel {
    type Err = UnknownAccessLevel;

    /// Case-insensitive; the names of [`AccessLevel::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccessLevel::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownAccessLevel(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_parse_case_insensitively() {
        for level in AccessLevel::ALL {
            assert_eq!(level.to_string().parse::<AccessLevel>(), Ok(level));
        }
        assert_eq!(
            "Friends".parse::<AccessLevel>(),
            Ok(AccessLevel::FriendsFamily)
        );
        assert_eq!(" BLOCKED ".parse::<AccessLevel>(), Ok(AccessLevel::Blocked));
        let err = "family".parse::<AccessLevel>().unwrap_err();
        assert!(err.to_string().contains("\"family\""));
        assert_eq!(AccessLevel::default(), AccessLevel::Public);
    }

    #[test]
    fn visibility_grows_with_trust_and_blocked_sees_nothing() {
        let seen: Vec<(bool, bool)> = AccessLevel::ALL
            .iter()
            .map(|l| (l.sees_notes_and_card(), l.sees_everything()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (false, false),
                (true, false),
                (true, true),
                (true, true),
                (false, false)
            ]
        );
    }
}
