//! The simulated users and who watches whom.
//!
//! User `i` (0-based) is `{prefix}{i:05}@{domain}` (`u00000`, `u00001`, ...: the
//! benchmark script creates the same names). User `i` watches users `i+1 ..= i+W`
//! (mod N), so every user is watched by exactly `W` others: the watcher `i-k` of a
//! presentity holds its slot `k-1`. Subscription `i*W + k-1` is user `i` watching
//! user `i+k`.

/// Names and topology of the simulated users.
#[derive(Clone, Debug)]
pub struct Population {
    users: usize,
    watch: usize,
    prefix: String,
    domain: String,
}

impl Population {
    /// `users` users named with `prefix` in `domain`, each watching `watch` others.
    /// `watch` must be below `users` (nobody watches themself or someone twice).
    pub fn new(users: usize, watch: usize, prefix: &str, domain: &str) -> Result<Self, String> {
        if users == 0 {
            return Err("there must be at least one user".into());
        }
        if watch >= users {
            return Err(format!(
                "each user can watch at most {} others among {users} users",
                users - 1
            ));
        }
        Ok(Population {
            users,
            watch,
            prefix: prefix.to_owned(),
            domain: domain.to_owned(),
        })
    }

    /// Number of users.
    pub fn users(&self) -> usize {
        self.users
    }

    /// Presentities each user watches (= watchers of each user).
    pub fn watch(&self) -> usize {
        self.watch
    }

    /// Number of subscriptions.
    pub fn subscriptions(&self) -> usize {
        self.users * self.watch
    }

    /// The served domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The user part of user `i`.
    pub fn name(&self, i: usize) -> String {
        format!("{}{i:05}", self.prefix)
    }

    /// `sip:name@domain` of user `i`.
    pub fn uri(&self, i: usize) -> String {
        format!("sip:{}@{}", self.name(i), self.domain)
    }

    /// The index of a user part, if it is one of ours (exactly as [`Population::name`]
    /// writes it).
    pub fn index(&self, user: &str) -> Option<usize> {
        let digits = user.strip_prefix(self.prefix.as_str())?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let i: usize = digits.parse().ok()?;
        (i < self.users && self.name(i) == user).then_some(i)
    }

    /// The presentity of subscription `sub`, and its watcher.
    pub fn subscription(&self, sub: usize) -> Option<(usize, usize)> {
        if sub >= self.subscriptions() {
            return None;
        }
        let watcher = sub / self.watch;
        let k = sub % self.watch;
        Some(((watcher + k + 1) % self.users, watcher))
    }

    /// The slot of `watcher` among the watchers of `presentity`, if it watches it.
    pub fn slot(&self, watcher: usize, presentity: usize) -> Option<usize> {
        if watcher >= self.users || presentity >= self.users {
            return None;
        }
        let distance = (presentity + self.users - watcher) % self.users;
        (1..=self.watch).contains(&distance).then(|| distance - 1)
    }

    /// The subscription of `watcher` to `presentity`, if there is one.
    pub fn subscription_id(&self, watcher: usize, presentity: usize) -> Option<usize> {
        self.slot(watcher, presentity)
            .map(|slot| watcher * self.watch + slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_refused() {
        let p = Population::new(120_000, 3, "u", "bench.test").expect("valid");
        assert_eq!(p.name(7), "u00007");
        assert_eq!(p.name(110_000), "u110000");
        assert_eq!(p.uri(7), "sip:u00007@bench.test");
        for i in [0, 7, 99_999, 110_000, 119_999] {
            assert_eq!(p.index(&p.name(i)), Some(i));
        }
        for stranger in [
            "u7", "u0007", "x00007", "u120000", "u-0001", "u", "", "u+0001",
        ] {
            assert_eq!(p.index(stranger), None, "{stranger}");
        }
    }

    #[test]
    fn every_user_is_watched_by_exactly_w_others_in_distinct_slots() {
        let p = Population::new(10, 4, "u", "d").expect("valid");
        let mut slots_seen = vec![Vec::new(); 10];
        for sub in 0..p.subscriptions() {
            let (presentity, watcher) = p.subscription(sub).expect("in range");
            assert_ne!(presentity, watcher);
            let slot = p.slot(watcher, presentity).expect("a watcher");
            assert_eq!(p.subscription_id(watcher, presentity), Some(sub));
            slots_seen[presentity].push(slot);
        }
        for mut slots in slots_seen {
            slots.sort_unstable();
            assert_eq!(slots, vec![0, 1, 2, 3]);
        }
        assert_eq!(p.subscription(40), None);
        // User 9 watches 0, 1, 2, 3 (wrapping); user 4 does not watch 9.
        assert_eq!(p.slot(9, 0), Some(0));
        assert_eq!(p.slot(9, 3), Some(3));
        assert_eq!(p.slot(4, 9), None);
        assert_eq!(p.slot(4, 4), None);
        assert_eq!(p.slot(11, 0), None);
    }

    #[test]
    fn impossible_shapes_are_refused() {
        assert!(Population::new(0, 0, "u", "d").is_err());
        assert!(Population::new(50, 50, "u", "d").is_err());
        assert!(Population::new(51, 50, "u", "d").is_ok());
    }
}
