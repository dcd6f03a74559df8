//! Who sees what of a user: the owner's access rules, contact list and privacy mode,
//! resolved to one [`AccessLevel`] per watcher.
//!
//! The order (first that applies wins):
//! 1. the user watching themselves sees everything;
//! 2. a rule naming the watcher;
//! 3. in privacy mode, anyone not on the owner's contact list sees Offline (as if
//!    blocked: they cannot tell the difference);
//! 4. a rule naming the watcher's domain;
//! 5. someone on the owner's contact list: Colleagues (as Lync files new contacts);
//! 6. everyone else: Public.
use herald_pidf::AccessLevel;
use std::collections::{HashMap, HashSet};

/// One owner's rules, as loaded from the store.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// AORs on the owner's contact list, in list order, with display-name overrides
    /// and groups (for resource lists).
    pub contacts: Vec<ContactItem>,
    pub contact_set: HashSet<String>,
    pub users: HashMap<String, AccessLevel>,
    pub domains: HashMap<String, AccessLevel>,
    pub privacy_mode: bool,
    pub limits: Limits,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactItem {
    pub aor: String,
    pub display_name: Option<String>,
    pub groups: Vec<String>,
}

/// Policy limits in force for one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_contacts: u32,
    pub max_subscriptions: u32,
    pub max_prompted: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_contacts: 250,
            max_subscriptions: 1000,
            max_prompted: 200,
        }
    }
}

impl Rules {
    pub fn new(
        contacts: Vec<ContactItem>,
        users: HashMap<String, AccessLevel>,
        domains: HashMap<String, AccessLevel>,
        privacy_mode: bool,
        limits: Limits,
    ) -> Rules {
        let contact_set = contacts.iter().map(|c| c.aor.clone()).collect();
        Rules {
            contacts,
            contact_set,
            users,
            domains,
            privacy_mode,
            limits,
        }
    }

    /// What `watcher` may see of `owner`.
    pub fn level_for(&self, owner: &str, watcher: &str) -> AccessLevel {
        if watcher == owner {
            return AccessLevel::FriendsFamily;
        }
        if let Some(level) = self.users.get(watcher) {
            return *level;
        }
        let on_list = self.contact_set.contains(watcher);
        if self.privacy_mode && !on_list {
            return AccessLevel::Blocked;
        }
        let domain = watcher.rsplit_once('@').map_or("", |(_, d)| d);
        if let Some(level) = self.domains.get(domain) {
            return *level;
        }
        if on_list {
            AccessLevel::Colleagues
        } else {
            AccessLevel::Public
        }
    }

    /// Whether the owner blocked `other` by a rule (privacy mode hides presence but
    /// blocks nothing else).
    pub fn blocks(&self, other: &str) -> bool {
        match self.users.get(other) {
            Some(level) => *level == AccessLevel::Blocked,
            None => {
                let domain = other.rsplit_once('@').map_or("", |(_, d)| d);
                self.domains.get(domain) == Some(&AccessLevel::Blocked)
            }
        }
    }

    /// Whether the owner has decided about `watcher` (a rule naming them, or them on
    /// the contact list); otherwise a watcher is "pending": someone to prompt about.
    pub fn knows(&self, watcher: &str) -> bool {
        self.users.contains_key(watcher) || self.contact_set.contains(watcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "alice@example.com";

    fn rules(privacy: bool) -> Rules {
        Rules::new(
            vec![ContactItem {
                aor: "carol@example.com".into(),
                display_name: None,
                groups: vec![],
            }],
            HashMap::from([
                ("bob@example.com".to_owned(), AccessLevel::FriendsFamily),
                ("mallory@example.com".to_owned(), AccessLevel::Blocked),
                ("dave@partner.net".to_owned(), AccessLevel::Workgroup),
            ]),
            HashMap::from([("partner.net".to_owned(), AccessLevel::Blocked)]),
            privacy,
            Limits::default(),
        )
    }

    #[test]
    fn levels_follow_the_documented_order() {
        let r = rules(false);
        let cases = [
            (OWNER, AccessLevel::FriendsFamily),
            ("bob@example.com", AccessLevel::FriendsFamily),
            ("mallory@example.com", AccessLevel::Blocked),
            ("dave@partner.net", AccessLevel::Workgroup),
            ("eve@partner.net", AccessLevel::Blocked),
            ("carol@example.com", AccessLevel::Colleagues),
            ("zed@example.com", AccessLevel::Public),
        ];
        for (watcher, level) in cases {
            assert_eq!(r.level_for(OWNER, watcher), level, "{watcher}");
        }
    }

    #[test]
    fn privacy_mode_hides_the_user_from_everyone_off_the_list() {
        let r = rules(true);
        assert_eq!(r.level_for(OWNER, "zed@example.com"), AccessLevel::Blocked);
        assert_eq!(
            r.level_for(OWNER, "carol@example.com"),
            AccessLevel::Colleagues
        );
        assert_eq!(
            r.level_for(OWNER, "bob@example.com"),
            AccessLevel::FriendsFamily,
            "a rule naming the watcher is the owner's explicit choice"
        );
        assert!(r.knows("carol@example.com") && r.knows("bob@example.com"));
        assert!(
            !r.blocks("zed@example.com"),
            "privacy mode blocks no messages"
        );
        assert!(r.blocks("mallory@example.com") && r.blocks("eve@partner.net"));
        assert!(
            !r.blocks("dave@partner.net"),
            "a user rule wins over the domain's"
        );
        assert!(!r.knows("zed@example.com"));
    }
}
