//! Durable storage for Herald.
//!
//! All durable data goes through one [`Store`] trait so the server does not care which
//! database sits behind it. [`SqliteStore`] (embedded) is the default backend; a PostgreSQL
//! backend can implement the same trait with the same schema and queries (sqlx covers both).
//!
//! The store holds the user directory, the queue of instant messages waiting for offline
//! recipients, the IM archive (pager, session and conference messages), the durable side of
//! presence (contact lists, access levels, privacy mode), user policies (presence limits, who
//! may create conferences) and the monitoring records of group IM conferences. Passwords are
//! never stored: callers pass the digest HA1 values (MD5 and SHA-256, hex) computed for the
//! user's realm. IM and conference times are unix epoch milliseconds, given by the caller.
//!
//! Layout: backend-independent types and rules live at the crate root (`user`, `offline`,
//! `archive`, `contacts`, `access`, `policy`, `conference`, `validate`, `error`); each backend
//! has its own module with one file per kind of data (`sqlite/users.rs`, `sqlite/offline.rs`,
//! `sqlite/contacts.rs`, ...) and its own migrations under `migrations/<backend>/`.

mod access;
mod archive;
mod clock;
mod conference;
mod contacts;
mod error;
mod offline;
mod policy;
mod sqlite;
mod user;
mod validate;

pub use access::{ACCESS_LEVELS, AccessRule, AccessSubject};
pub use archive::{ArchiveRecord, ImMode};
pub use conference::ConferenceRecord;
pub use contacts::{ContactEntry, NewContact};
pub use error::StoreError;
pub use offline::{NewOfflineMessage, OfflineMessage};
pub use policy::{EffectivePolicy, MAX_CONTACTS_CEILING, PolicyLimits};
pub use sqlite::{Durability, Restored, SchemaCheck, SqliteStore, StoreSummary};
pub use user::{NewUser, User};

/// A store shared by every part of the server.
pub type SharedStore = std::sync::Arc<dyn Store>;

/// The one interface to durable data.
///
/// AOR arguments are `user@domain` (no `sip:` scheme); the domain part is matched
/// case-insensitively, the user part exactly.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an enabled user after validating it (see [`NewUser`]); the domain and HA1
    /// values are lower-cased. Fails with [`StoreError::AlreadyExists`] if the AOR is taken.
    async fn add_user(&self, u: NewUser) -> Result<User, StoreError>;

    /// Bulk insert in one transaction; fails as a whole on a duplicate (AlreadyExists naming it),
    /// whether the duplicate is already stored or appears twice in `users`. Returns how many
    /// users were inserted.
    async fn import_users(&self, users: Vec<NewUser>) -> Result<usize, StoreError>;

    /// Looks a user up by AOR.
    async fn get_user(&self, aor: &str) -> Result<Option<User>, StoreError>;

    /// Looks many users up at once (a cache refreshing its entries): one answer per
    /// address, in the order given; `None` for an absent user or an invalid address.
    async fn get_users(&self, aors: &[String]) -> Result<Vec<Option<User>>, StoreError> {
        let mut users = Vec::with_capacity(aors.len());
        for aor in aors {
            users.push(match self.get_user(aor).await {
                Err(StoreError::Invalid(_)) => None,
                other => other?,
            });
        }
        Ok(users)
    }

    /// Every user, ordered by AOR.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// Deletes a user, the messages queued for them, and their presence data (contact list,
    /// access rules, privacy mode, policy); [`StoreError::NotFound`] if absent. Their IM
    /// archive is kept (it is a compliance record), and so are other users' contact entries
    /// and rules naming them.
    async fn remove_user(&self, aor: &str) -> Result<(), StoreError>;

    /// Replaces a user's HA1 values (hex, any case); [`StoreError::NotFound`] if absent.
    async fn set_password(
        &self,
        aor: &str,
        ha1_md5: &str,
        ha1_sha256: &str,
    ) -> Result<(), StoreError>;

    /// Enables or disables a user; [`StoreError::NotFound`] if absent.
    async fn set_enabled(&self, aor: &str, enabled: bool) -> Result<(), StoreError>;

    /// How many users are stored.
    async fn user_count(&self) -> Result<u64, StoreError>;

    /// Sets a user's archiving override: `Some(true)`/`Some(false)`, or `None` to follow the
    /// server-wide setting. [`StoreError::NotFound`] if absent.
    async fn set_archiving(&self, aor: &str, archiving: Option<bool>) -> Result<(), StoreError>;

    /// Every user with an archiving override, as (AOR, on), ordered by AOR.
    async fn archiving_overrides(&self) -> Result<Vec<(String, bool)>, StoreError>;

    /// Queues a message for a recipient with no registered device; returns its id (ids
    /// increase in arrival order). The write is committed before this returns.
    ///
    /// Fails with [`StoreError::LimitReached`] when the recipient already has `max_per_user`
    /// unexpired messages queued (counted and inserted in one transaction, so concurrent
    /// enqueues cannot exceed the limit), [`StoreError::NotFound`] if the recipient is not a
    /// stored user, [`StoreError::Invalid`] for a malformed AOR, a header value containing
    /// control characters, or an expiry not after arrival.
    async fn enqueue_offline(
        &self,
        m: NewOfflineMessage,
        max_per_user: u32,
    ) -> Result<i64, StoreError>;

    /// The recipient's oldest queued messages not yet expired at `now_ms`, in arrival order,
    /// at most `limit`.
    async fn offline_for(
        &self,
        recipient: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<OfflineMessage>, StoreError>;

    /// Deletes a message once a device accepted it; deleting a missing id is not an error.
    async fn offline_delivered(&self, id: i64) -> Result<(), StoreError>;

    /// Distinct recipients with at least one queued message unexpired at `now_ms`, ordered.
    async fn offline_recipients(&self, now_ms: i64) -> Result<Vec<String>, StoreError>;

    /// Deletes the messages with `expires_at_ms <= now_ms`; returns how many.
    async fn expire_offline(&self, now_ms: i64) -> Result<u64, StoreError>;

    /// Appends one record to the IM archive (committed before this returns).
    /// [`StoreError::Invalid`] for a malformed AOR or a header value with control characters.
    async fn archive(&self, rec: ArchiveRecord) -> Result<(), StoreError>;

    /// The archived messages `user` sent or received with `since_ms <= at_ms < until_ms`
    /// (`until_ms` `None`: no upper bound), oldest first.
    async fn archived_for(
        &self,
        user: &str,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> Result<Vec<ArchiveRecord>, StoreError>;

    // Presence. Every `owner`/`user` must be a stored user, else [`StoreError::NotFound`]
    // naming them; a malformed AOR, subject, level or limit is [`StoreError::Invalid`].

    /// Adds `c` to `owner`'s contact list, or updates it if already there (groups merged, a
    /// `Some` display name replacing the stored one; see [`NewContact`]); returns the entry
    /// as now stored. A new contact when `owner` already has `max_contacts` fails with
    /// [`StoreError::LimitReached`] (counted and inserted in one transaction); updating one
    /// already listed never does. [`StoreError::Invalid`] when `owner` adds themselves, for a
    /// bad group name, or past 64 groups on one contact.
    async fn add_contact(
        &self,
        owner: &str,
        c: NewContact,
        max_contacts: u32,
    ) -> Result<ContactEntry, StoreError>;

    /// Takes `contact` off `owner`'s list; [`StoreError::NotFound`] naming the contact if it
    /// was not on it.
    async fn remove_contact(&self, owner: &str, contact: &str) -> Result<(), StoreError>;

    /// `owner`'s contact list, in the order the contacts were first added.
    async fn contacts_of(&self, owner: &str) -> Result<Vec<ContactEntry>, StoreError>;

    /// Grants `subject` the access `level` (one of [`ACCESS_LEVELS`], any case) to `owner`'s
    /// presence, replacing any earlier rule about the same subject; `None` removes the rule
    /// (no error if there was none). `owner` cannot be their own subject.
    async fn set_access(
        &self,
        owner: &str,
        subject: &AccessSubject,
        level: Option<&str>,
    ) -> Result<(), StoreError>;

    /// `owner`'s access rules, ordered by subject.
    async fn access_rules(&self, owner: &str) -> Result<Vec<AccessRule>, StoreError>;

    /// Turns `owner`'s privacy mode on (only people on their contact list see their
    /// presence) or off.
    async fn set_privacy_mode(&self, owner: &str, on: bool) -> Result<(), StoreError>;

    /// Whether `owner`'s privacy mode is on (off unless set).
    async fn privacy_mode(&self, owner: &str) -> Result<bool, StoreError>;

    /// Replaces the stored policy of `user`, or the server-wide one for `None`; storing
    /// [`PolicyLimits::default()`] (all inherited) clears it. [`StoreError::Invalid`] for a
    /// limit of 0 or `max_contacts` above [`MAX_CONTACTS_CEILING`].
    async fn set_policy(&self, user: Option<&str>, limits: PolicyLimits) -> Result<(), StoreError>;

    /// The stored policy of `user`, or the server-wide one for `None`, as stored (all `None`
    /// if none is).
    async fn policy(&self, user: Option<&str>) -> Result<PolicyLimits, StoreError>;

    /// The policy that applies to `user` (limits, whether they may create conferences): each
    /// setting from their own policy, else the server-wide one, else [`PolicyLimits::DEFAULT`].
    async fn effective_policy(&self, user: &str) -> Result<EffectivePolicy, StoreError>;

    // Conference monitoring. `uri` is the conference's address, `conf-<id>@domain` or
    // `sip:conf-<id>@domain` (stored without the scheme, domain lower-cased); anything else
    // is [`StoreError::Invalid`]. Creators and participants are AORs (`sip:` optional) that
    // need not be stored users: records are history and stay when users are removed. Times
    // are unix epoch milliseconds given by the caller.

    /// Records that `creator` started the conference `uri` at `started_ms` (running, no
    /// participants, no messages). [`StoreError::ConferenceExists`] if `uri` was recorded before.
    async fn conference_started(
        &self,
        uri: &str,
        creator: &str,
        started_ms: i64,
    ) -> Result<(), StoreError>;

    /// Records that `aor` joined the conference `uri`. Idempotent: a participant who joins
    /// again keeps their first join time and place in the order. Taken even after the end
    /// is recorded (concurrent writers may deliver a join late).
    /// [`StoreError::NoSuchConference`] if `uri` was never started.
    async fn conference_joined(
        &self,
        uri: &str,
        aor: &str,
        joined_ms: i64,
    ) -> Result<(), StoreError>;

    /// Records that the running conference `uri` ended at `ended_ms` after `message_count`
    /// messages, for `reason` (a short phrase: 1 to 256 characters, no control characters).
    /// [`StoreError::NoSuchConference`] if `uri` was never started, [`StoreError::Invalid`]
    /// if it has already ended.
    async fn conference_ended(
        &self,
        uri: &str,
        ended_ms: i64,
        message_count: u64,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// The `limit` most recently started conferences, newest first, with their participants.
    async fn conference_records(&self, limit: u32) -> Result<Vec<ConferenceRecord>, StoreError>;

    /// Ends every conference still recorded as running at `now_ms` with `reason` (their
    /// message count stays as stored); returns how many. Run at start-up, before any
    /// conference starts, for the records a crash left open ("server restart").
    async fn close_open_conferences(&self, now_ms: i64, reason: &str) -> Result<u64, StoreError>;
}
