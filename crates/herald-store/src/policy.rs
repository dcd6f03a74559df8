//! User policies: how many contacts, subscriptions and prompted watchers a user may have, and
//! whether they may create conferences.
//!
//! Each setting is looked up per user first, then in the server-wide policy, then in the
//! built-in [`PolicyLimits::DEFAULT`]; each is resolved on its own, so a user policy that sets
//! only `max_contacts` still inherits the others.

/// Hard ceiling of `max_contacts`: [`Store::set_policy`](crate::Store::set_policy) refuses
/// more with [`StoreError::Invalid`](crate::StoreError::Invalid).
pub const MAX_CONTACTS_CEILING: u32 = 1000;

// The built-in default must itself be a limit set_policy would accept.
const _: () = assert!(PolicyLimits::DEFAULT.max_contacts <= MAX_CONTACTS_CEILING);

/// A policy as stored for one user or server-wide. `None` = inherit
/// (per-user → server-wide stored → built-in default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Most contacts on the user's contact list (at most [`MAX_CONTACTS_CEILING`]).
    pub max_contacts: Option<u32>,
    /// Most presence subscriptions the user's devices may hold at once.
    pub max_subscriptions: Option<u32>,
    /// Most watchers waiting for the user to allow or block them.
    pub max_prompted: Option<u32>,
    /// Whether the user may create conferences (joining one is not limited by this).
    pub create_conferences: Option<bool>,
}

impl PolicyLimits {
    /// Built-in defaults: 250 contacts, 1000 subscriptions per user, 200 prompted watchers,
    /// everyone may create conferences.
    pub const DEFAULT: EffectivePolicy = EffectivePolicy {
        max_contacts: 250,
        max_subscriptions: 1000,
        max_prompted: 200,
        create_conferences: true,
    };

    /// Each setting set here, else the one set in `fallback`.
    pub fn or(self, fallback: PolicyLimits) -> PolicyLimits {
        PolicyLimits {
            max_contacts: self.max_contacts.or(fallback.max_contacts),
            max_subscriptions: self.max_subscriptions.or(fallback.max_subscriptions),
            max_prompted: self.max_prompted.or(fallback.max_prompted),
            create_conferences: self.create_conferences.or(fallback.create_conferences),
        }
    }

    /// Each setting set here, else the built-in default.
    pub fn resolve(self) -> EffectivePolicy {
        let default = PolicyLimits::DEFAULT;
        EffectivePolicy {
            max_contacts: self.max_contacts.unwrap_or(default.max_contacts),
            max_subscriptions: self.max_subscriptions.unwrap_or(default.max_subscriptions),
            max_prompted: self.max_prompted.unwrap_or(default.max_prompted),
            create_conferences: self
                .create_conferences
                .unwrap_or(default.create_conferences),
        }
    }

    /// True when nothing is set (everything inherited).
    pub fn is_empty(self) -> bool {
        self == PolicyLimits::default()
    }
}

/// The policy that applies to a user, every setting resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// Most contacts on the user's contact list.
    pub max_contacts: u32,
    /// Most presence subscriptions the user's devices may hold at once.
    pub max_subscriptions: u32,
    /// Most watchers waiting for the user to allow or block them.
    pub max_prompted: u32,
    /// Whether the user may create conferences.
    pub create_conferences: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_falls_back_on_its_own() {
        let user = PolicyLimits {
            max_contacts: Some(10),
            ..PolicyLimits::default()
        };
        let server = PolicyLimits {
            max_contacts: Some(500),
            max_subscriptions: Some(20),
            max_prompted: None,
            create_conferences: Some(false),
        };
        assert_eq!(
            user.or(server).resolve(),
            EffectivePolicy {
                max_contacts: 10,
                max_subscriptions: 20,
                max_prompted: 200,
                create_conferences: false,
            }
        );
        let allowed = PolicyLimits {
            create_conferences: Some(true),
            ..PolicyLimits::default()
        };
        assert!(allowed.or(server).resolve().create_conferences);
        assert!(PolicyLimits::default().resolve().create_conferences);
        assert!(!allowed.is_empty());
        assert_eq!(PolicyLimits::default().resolve(), PolicyLimits::DEFAULT);
        assert!(PolicyLimits::default().is_empty());
        assert!(!server.is_empty());
    }
}
