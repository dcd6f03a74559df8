//! Conference addresses: `sip:conf-factory@DOMAIN` creates a conference, and each
//! conference is `sip:conf-<id>@DOMAIN`, the id being 128 random bits in hex (a
//! conference URI is hard to guess). User names beginning `conf-` are reserved (the
//! store refuses them), so these never collide with a user.
use std::fmt;

/// The user part of the conference factory URI.
pub const FACTORY_USER: &str = "conf-factory";
/// The prefix of every reserved user name.
pub const PREFIX: &str = "conf-";

/// A conference's id: 32 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfId(u128);

impl ConfId {
    pub fn random() -> ConfId {
        ConfId(rand::random())
    }

    /// The id in a `conf-<id>` user part.
    pub fn parse(hex_digits: &str) -> Option<ConfId> {
        if hex_digits.len() != 32 || !hex_digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(hex_digits, 16).ok().map(ConfId)
    }

    /// `conf-<id>`.
    pub fn user(&self) -> String {
        format!("{PREFIX}{self}")
    }
}

impl fmt::Display for ConfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// What a Request-URI user part names on the focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FocusTarget {
    /// `conf-factory`: make a conference.
    Factory,
    /// `conf-<id>`.
    Conference(ConfId),
    /// Another `conf-` name: reserved, no such conference.
    Unknown,
}

impl FocusTarget {
    /// `None` when `user` is not one of ours (not `conf-...`).
    pub fn of_user(user: &str) -> Option<FocusTarget> {
        let rest = user
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .and_then(|_| user.get(PREFIX.len()..))?;
        if user.eq_ignore_ascii_case(FACTORY_USER) {
            return Some(FocusTarget::Factory);
        }
        Some(match ConfId::parse(&rest.to_ascii_lowercase()) {
            Some(id) => FocusTarget::Conference(id),
            None => FocusTarget::Unknown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_128_bits() {
        let id = ConfId::random();
        let user = id.user();
        assert_eq!(user.len(), 5 + 32);
        assert_eq!(
            FocusTarget::of_user(&user),
            Some(FocusTarget::Conference(id))
        );
        assert_eq!(
            FocusTarget::of_user(&user.to_ascii_uppercase()),
            Some(FocusTarget::Conference(id))
        );
        assert_ne!(ConfId::random(), ConfId::random());
    }

    #[test]
    fn the_factory_and_reserved_names() {
        assert_eq!(
            FocusTarget::of_user("conf-factory"),
            Some(FocusTarget::Factory)
        );
        assert_eq!(
            FocusTarget::of_user("Conf-Factory"),
            Some(FocusTarget::Factory)
        );
        assert_eq!(FocusTarget::of_user("conf-"), Some(FocusTarget::Unknown));
        assert_eq!(FocusTarget::of_user("conf-12"), Some(FocusTarget::Unknown));
        assert_eq!(
            FocusTarget::of_user(&format!("conf-{}", "g".repeat(32))),
            Some(FocusTarget::Unknown)
        );
        assert_eq!(FocusTarget::of_user("alice"), None);
        assert_eq!(FocusTarget::of_user("conf"), None);
        assert_eq!(FocusTarget::of_user("é"), None);
    }
}
