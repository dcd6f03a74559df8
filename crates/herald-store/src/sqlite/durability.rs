//! How far a commit is pushed towards the disk before the store answers.

use std::fmt;
use std::str::FromStr;

use sqlx::sqlite::SqliteSynchronous;

/// SQLite's `synchronous` setting for the write-ahead log, as an operator chooses it.
///
/// Both keep every committed write through a crash of the server process (a `kill -9`, a
/// panic, the OOM killer): the commit is in the operating system's cache before the store
/// answers, and SQLite replays the log at the next open. They differ when the whole machine
/// stops (power cut, kernel panic, a virtual machine killed):
/// - [`Durability::Normal`] syncs the log only at checkpoints, so the last commits before
///   the cut (up to a second or so) can be lost, though the database is never corrupted;
/// - [`Durability::Full`] syncs the log at every commit, so nothing the server acknowledged
///   is lost, at the price of one disk flush per write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL`: safe against process crashes, not against power cuts.
    Normal,
    /// `synchronous=FULL`: safe against both.
    #[default]
    Full,
}

impl Durability {
    pub(super) fn synchronous(self) -> SqliteSynchronous {
        match self {
            Durability::Normal => SqliteSynchronous::Normal,
            Durability::Full => SqliteSynchronous::Full,
        }
    }

    /// The value of `PRAGMA synchronous` this setting gives (1 NORMAL, 2 FULL).
    pub fn pragma_value(self) -> i64 {
        match self {
            Durability::Normal => 1,
            Durability::Full => 2,
        }
    }
}

impl FromStr for Durability {
    type Err = String;

    /// `"normal"` or `"full"`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("normal") {
            Ok(Durability::Normal)
        } else if s.eq_ignore_ascii_case("full") {
            Ok(Durability::Full)
        } else {
            Err(format!(
                "unknown synchronous setting {s:?}: use \"full\" or \"normal\""
            ))
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Durability::Normal => "normal",
            Durability::Full => "full",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Durability;

    #[test]
    fn parses_both_names_in_any_case_and_nothing_else() {
        assert_eq!("full".parse(), Ok(Durability::Full));
        assert_eq!("NORMAL".parse(), Ok(Durability::Normal));
        assert!("off".parse::<Durability>().is_err());
        assert!("".parse::<Durability>().is_err());
        assert_eq!(Durability::Normal.to_string(), "normal");
    }
}
