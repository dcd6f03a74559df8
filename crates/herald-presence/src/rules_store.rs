//! Loading a user's presence rules from the store, cached per user.
use crate::rules::{ContactItem, Limits, Rules};
use crate::service::PresenceService;
use herald_pidf::AccessLevel;
use herald_store::{AccessSubject, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

impl PresenceService {
    /// `owner`'s rules, from the cache or the store. When the store fails, the user is
    /// hidden (everyone but themselves sees Offline) rather than shown to people they
    /// may have blocked; that answer is not cached.
    pub(crate) async fn rules(&self, owner: &str) -> Arc<Rules> {
        if let Some(r) = self.state.lock().rules.get(owner) {
            return r.clone();
        }
        match self.load_rules(owner).await {
            Ok(rules) => {
                let rules = Arc::new(rules);
                self.state
                    .lock()
                    .rules
                    .insert(owner.to_owned(), rules.clone());
                rules
            }
            Err(e) => {
                tracing::warn!(%owner, error = %e, "presence rules unavailable: user hidden");
                Arc::new(Rules {
                    privacy_mode: true,
                    ..Rules::default()
                })
            }
        }
    }

    /// Whether `owner` blocked `other` (for the IM service: a blocked sender's messages
    /// are not delivered).
    pub async fn blocks(&self, owner: &str, other: &str) -> bool {
        self.rules(owner).await.blocks(other)
    }

    /// Reads `owner`'s rules; a user the store does not know has none.
    pub(crate) async fn load_rules(&self, owner: &str) -> Result<Rules, StoreError> {
        match self.read_rules(owner).await {
            Err(StoreError::NotFound(_)) => Ok(Rules::default()),
            other => other,
        }
    }

    async fn read_rules(&self, owner: &str) -> Result<Rules, StoreError> {
        let contacts = self
            .store
            .contacts_of(owner)
            .await?
            .into_iter()
            .map(|c| ContactItem {
                aor: c.contact,
                display_name: c.display_name,
                groups: c.groups,
            })
            .collect();
        let mut users = HashMap::new();
        let mut domains = HashMap::new();
        for rule in self.store.access_rules(owner).await? {
            let Ok(level) = rule.level.parse::<AccessLevel>() else {
                tracing::warn!(%owner, level = %rule.level, "unknown access level ignored");
                continue;
            };
            match rule.subject {
                AccessSubject::User(aor) => users.insert(aor, level),
                AccessSubject::Domain(domain) => domains.insert(domain, level),
            };
        }
        let privacy = self.store.privacy_mode(owner).await?;
        let policy = self.store.effective_policy(owner).await?;
        Ok(Rules::new(
            contacts,
            users,
            domains,
            privacy,
            Limits {
                max_contacts: policy.max_contacts,
                max_subscriptions: policy.max_subscriptions,
                max_prompted: policy.max_prompted,
            },
        ))
    }
}
