//! Access levels: how much of their presence a user shows to whom.
//!
//! A user grants a level to one other user or to every user of a domain. Interpreting the
//! levels (what each one reveals, which rule wins) is the presence service's business; the
//! store only keeps the rules and refuses level names it does not know.

use std::fmt;

use crate::StoreError;
use crate::validate::{domain_name, presence_aor};

/// The access level names the store accepts, lowest to highest trust except `blocked`, which
/// hides everything.
pub const ACCESS_LEVELS: &[&str] = &["public", "colleagues", "workgroup", "friends", "blocked"];

/// Who an access rule is about: one user, or every user of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccessSubject {
    /// One user, by AOR `user@domain` (domain lower-cased).
    User(String),
    /// Every user of this (lower-cased) domain.
    Domain(String),
}

impl AccessSubject {
    /// Reads a subject as an administrator or client writes it: `bob@example.com` or
    /// `sip:bob@example.com` is a [`User`](AccessSubject::User), `example.com` a
    /// [`Domain`](AccessSubject::Domain). Domains are lower-cased.
    /// [`StoreError::Invalid`] for anything else.
    pub fn parse(s: &str) -> Result<AccessSubject, StoreError> {
        let trimmed = s.trim();
        if trimmed.contains('@') {
            presence_aor(trimmed).map(AccessSubject::User)
        } else {
            domain_name(trimmed).map(AccessSubject::Domain)
        }
    }

    /// The stored spelling: the AOR or the domain.
    pub fn as_str(&self) -> &str {
        match self {
            AccessSubject::User(aor) => aor,
            AccessSubject::Domain(domain) => domain,
        }
    }
}

impl fmt::Display for AccessSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored access rule of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRule {
    /// Who the rule is about.
    pub subject: AccessSubject,
    /// The level granted: one of [`ACCESS_LEVELS`].
    pub level: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_users_with_or_without_scheme_and_domains() {
        assert_eq!(
            AccessSubject::parse("bob@Example.COM").unwrap(),
            AccessSubject::User("bob@example.com".to_owned())
        );
        assert_eq!(
            AccessSubject::parse("sip:bob@example.com").unwrap(),
            AccessSubject::User("bob@example.com".to_owned())
        );
        let domain = AccessSubject::parse(" Example.COM ").unwrap();
        assert_eq!(domain, AccessSubject::Domain("example.com".to_owned()));
        assert_eq!(domain.as_str(), "example.com");
        assert_eq!(domain.to_string(), "example.com");
    }

    #[test]
    fn refuses_what_is_neither() {
        for bad in [
            "",
            "@example.com",
            "bob@",
            "exa mple.com",
            "a..b",
            "*.example.com",
        ] {
            assert!(
                matches!(AccessSubject::parse(bad), Err(StoreError::Invalid(_))),
                "{bad:?} should be rejected"
            );
        }
    }
}
