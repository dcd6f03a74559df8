//! The user directory as the authenticator reads it: entries are trusted for a bounded
//! time ([`USER_CACHE_TTL`]) and refreshed from the store in the background before
//! that time runs out, so a user who keeps sending requests never waits on the store.
//!
//! Without the refresh, every entry of a busy server expired in the same second it had
//! been read, 30 s later, and the requests of that second all waited on SQLite
//! together: the bursts in the latency tail. Refreshes are gathered and read a few
//! hundred per statement: one read each cost about as much CPU as the request itself.
use herald_store::{SharedStore, StoreError, User};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a directory entry is trusted without re-reading the store. Admin changes
/// made through the running server invalidate entries at once.
pub(crate) const USER_CACHE_TTL: Duration = Duration::from_secs(30);
/// A used entry is re-read in the background this long after it was read...
const REFRESH_AFTER: Duration = Duration::from_secs(15);
/// ...plus up to this much more, chosen per entry so that entries read together are not
/// all re-read together.
const REFRESH_SPREAD_MS: u64 = 10_000;
/// Entries kept at most; the cache starts over beyond it.
const USER_CACHE_MAX: usize = 500_000;
/// How long the refresher lets entries due for a refresh gather before reading them.
const REFRESH_GATHER: Duration = Duration::from_millis(200);
/// Entries re-read per store call.
const REFRESH_BATCH: usize = 1000;

struct Entry {
    user: Option<Arc<User>>,
    /// When the read that produced it started: the TTL counts from there.
    read_at: Instant,
    refresh_at: Instant,
    refreshing: bool,
}

#[derive(Default)]
struct Entries {
    by_aor: HashMap<String, Entry>,
    /// Bumped by every invalidation: a read that started before one must not put back
    /// what the administrator just changed.
    epoch: u64,
    /// Entries due for a refresh, with the time the refresh was asked for (the TTL of
    /// the refreshed entry counts from then, never from later).
    due: Vec<(String, Instant)>,
    /// Whether a refresher task is running (it ends when nothing is due).
    refresher_running: bool,
}

impl Entries {
    fn put(&mut self, aor: &str, user: Option<Arc<User>>, read_at: Instant, epoch: u64) {
        if epoch != self.epoch {
            return;
        }
        if self.by_aor.len() >= USER_CACHE_MAX && !self.by_aor.contains_key(aor) {
            self.by_aor.clear();
        }
        let spread = Duration::from_millis(rand::random::<u64>() % REFRESH_SPREAD_MS);
        self.by_aor.insert(
            aor.to_owned(),
            Entry {
                user,
                read_at,
                refresh_at: read_at + REFRESH_AFTER + spread,
                refreshing: false,
            },
        );
    }
}

/// Cached reads of the user directory.
pub(crate) struct UserCache {
    store: SharedStore,
    entries: Arc<Mutex<Entries>>,
}

impl UserCache {
    pub fn new(store: SharedStore) -> Self {
        UserCache {
            store,
            entries: Arc::default(),
        }
    }

    /// The directory entry of `aor` as of at most [`USER_CACHE_TTL`] before `now`; an
    /// error when it had to be read and the store could not answer.
    pub async fn get(&self, aor: &str, now: Instant) -> Result<Option<Arc<User>>, StoreError> {
        let epoch = {
            let mut guard = self.entries.lock();
            let entries = &mut *guard;
            let epoch = entries.epoch;
            if let Some(entry) = entries.by_aor.get_mut(aor)
                && now.saturating_duration_since(entry.read_at) < USER_CACHE_TTL
            {
                let user = entry.user.clone();
                if now >= entry.refresh_at
                    && !entry.refreshing
                    && (entries.refresher_running || self.start_refresher())
                {
                    entry.refreshing = true;
                    entries.refresher_running = true;
                    entries.due.push((aor.to_owned(), now));
                }
                return Ok(user);
            }
            epoch
        };
        let user = self
            .store
            .get_user(aor)
            .await
            .inspect_err(|e| {
                tracing::warn!(%aor, error = %e, "directory lookup failed");
            })?
            .map(Arc::new);
        self.entries.lock().put(aor, user.clone(), now, epoch);
        Ok(user)
    }

    /// Starts the task that re-reads the entries due for a refresh, in batches, while
    /// the entries in hand stay in use. False when there is no runtime to run it on (the
    /// entries are then read again when they expire).
    fn start_refresher(&self) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let (store, entries) = (self.store.clone(), self.entries.clone());
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_GATHER).await;
                let (batch, epoch) = {
                    let mut entries = entries.lock();
                    if entries.due.is_empty() {
                        entries.refresher_running = false;
                        return;
                    }
                    let take = entries.due.len().min(REFRESH_BATCH);
                    let batch: Vec<(String, Instant)> = entries.due.drain(..take).collect();
                    (batch, entries.epoch)
                };
                let aors: Vec<String> = batch.iter().map(|(aor, _)| aor.clone()).collect();
                let read = store.get_users(&aors).await;
                let mut entries = entries.lock();
                match read {
                    Ok(users) => {
                        for ((aor, asked_at), user) in batch.into_iter().zip(users) {
                            entries.put(&aor, user.map(Arc::new), asked_at, epoch);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "background directory refresh failed");
                        for (aor, _) in batch {
                            if let Some(entry) = entries.by_aor.get_mut(&aor) {
                                entry.refreshing = false;
                            }
                        }
                    }
                }
            }
        });
        true
    }

    /// Forgets `aor` at once (an administrator changed it), and keeps reads already
    /// under way from putting the old entry back.
    pub fn invalidate(&self, aor: &str) {
        let mut entries = self.entries.lock();
        entries.epoch = entries.epoch.wrapping_add(1);
        entries.by_aor.remove(aor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_auth::Algorithm;
    use herald_store::{NewUser, SqliteStore, Store};

    const AOR: &str = "alice@example.com";

    async fn store() -> SharedStore {
        let store = SqliteStore::open_in_memory().await.expect("store");
        store.add_user(new_user("old")).await.expect("user added");
        Arc::new(store)
    }

    fn new_user(password: &str) -> NewUser {
        NewUser {
            username: "alice".into(),
            domain: "example.com".into(),
            display_name: None,
            ha1_md5: herald_auth::ha1(Algorithm::Md5, "alice", "example.com", password),
            ha1_sha256: herald_auth::ha1(Algorithm::Sha256, "alice", "example.com", password),
        }
    }

    async fn change_password(store: &SharedStore, password: &str) -> String {
        let changed = new_user(password);
        store
            .set_password(AOR, &changed.ha1_md5, &changed.ha1_sha256)
            .await
            .expect("password set");
        changed.ha1_md5
    }

    async fn ha1(cache: &UserCache, now: Instant) -> String {
        cache
            .get(AOR, now)
            .await
            .expect("store answers")
            .expect("user exists")
            .ha1_md5
            .clone()
    }

    #[tokio::test]
    async fn an_entry_is_used_until_refreshed_in_the_background_before_it_expires() {
        let store = store().await;
        let cache = UserCache::new(store.clone());
        let start = Instant::now();
        let old = ha1(&cache, start).await;
        let new = change_password(&store, "new").await;
        assert_ne!(old, new);

        // Before the refresh window: the cached entry, no read.
        assert_eq!(ha1(&cache, start + Duration::from_secs(14)).await, old);
        // In it (at the latest 25 s): still the cached entry, answered at once...
        let late = start + REFRESH_AFTER + Duration::from_millis(REFRESH_SPREAD_MS);
        assert_eq!(ha1(&cache, late).await, old);
        // ...while a task reads the store again.
        let mut refreshed = false;
        for _ in 0..400 {
            if ha1(&cache, late).await == new {
                refreshed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(refreshed, "the entry was never refreshed");
        // The refreshed entry counts from when its read began: still valid 29 s later.
        change_password(&store, "newer").await;
        assert_eq!(ha1(&cache, late + Duration::from_secs(14)).await, new);
    }

    #[tokio::test]
    async fn an_expired_entry_is_read_again_before_answering() {
        let store = store().await;
        let cache = UserCache::new(store.clone());
        let start = Instant::now();
        let old = ha1(&cache, start).await;
        let new = change_password(&store, "new").await;
        // Never used in its refresh window: after the TTL it is read on the spot.
        assert_eq!(ha1(&cache, start + USER_CACHE_TTL).await, new);
        assert_ne!(old, new);
    }

    #[tokio::test]
    async fn invalidation_takes_effect_at_once_and_outlives_reads_under_way() {
        let store = store().await;
        let cache = UserCache::new(store.clone());
        let start = Instant::now();
        ha1(&cache, start).await;
        let new = change_password(&store, "new").await;
        cache.invalidate(AOR);
        assert_eq!(ha1(&cache, start + Duration::from_secs(1)).await, new);

        // A read that began before an invalidation does not put its result back.
        let before = cache.entries.lock().epoch;
        cache.invalidate(AOR);
        cache.entries.lock().put(AOR, None, start, before);
        assert!(!cache.entries.lock().by_aor.contains_key(AOR));
    }
}
