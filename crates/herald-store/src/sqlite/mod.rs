//! Embedded SQLite backend: connection setup, migrations, and the [`Store`] implementation.
//!
//! The SQL for each kind of data lives in its own file (`users.rs`, `offline.rs`, `archive.rs`,
//! `contacts.rs`, `access.rs`, `policy.rs`); this file only wires them to the trait.

mod access;
mod archive;
mod contacts;
mod offline;
mod policy;
mod users;

use std::path::Path;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{
    AccessRule, AccessSubject, ArchiveRecord, ContactEntry, EffectivePolicy, NewContact,
    NewOfflineMessage, NewUser, OfflineMessage, PolicyLimits, Store, StoreError, User,
};

/// SQLite has a single writer anyway; a few connections let readers run beside it (WAL).
const MAX_CONNECTIONS: u32 = 4;
/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// [`Store`] backed by an embedded SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `path`, runs migrations, WAL journal, synchronous=NORMAL (durable against process
    /// crashes, which is what we promise), foreign keys on, busy timeout 5 s, a small pool.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_file(path, true).await
    }

    /// Like [`open`](Self::open) but fails with [`StoreError::Backend`] if `path` does not exist
    /// yet, for tools that read a store and must not create an empty one by mistake.
    pub async fn open_existing(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_file(path, false).await
    }

    async fn open_file(path: &Path, create: bool) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        Self::migrated(pool).await
    }

    /// Opens a fresh, empty database that lives only as long as this store (for tests).
    pub async fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Every connection to ":memory:" is a separate database, so the pool holds exactly one
        // connection and never retires it (that would drop the data).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open in-memory database: {e}")))?;
        Self::migrated(pool).await
    }

    /// Waits for in-flight operations and closes every connection. Committed data is durable
    /// without this; it just shuts down cleanly (and lets SQLite fold the WAL back into the file).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore, StoreError> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        Ok(SqliteStore { pool })
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn add_user(&self, u: NewUser) -> Result<User, StoreError> {
        users::add(&self.pool, u).await
    }

    async fn import_users(&self, users: Vec<NewUser>) -> Result<usize, StoreError> {
        users::import(&self.pool, users).await
    }

    async fn get_user(&self, aor: &str) -> Result<Option<User>, StoreError> {
        users::get(&self.pool, aor).await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        users::list(&self.pool).await
    }

    async fn remove_user(&self, aor: &str) -> Result<(), StoreError> {
        users::remove(&self.pool, aor).await
    }

    async fn set_password(
        &self,
        aor: &str,
        ha1_md5: &str,
        ha1_sha256: &str,
    ) -> Result<(), StoreError> {
        users::set_password(&self.pool, aor, ha1_md5, ha1_sha256).await
    }

    async fn set_enabled(&self, aor: &str, enabled: bool) -> Result<(), StoreError> {
        users::set_enabled(&self.pool, aor, enabled).await
    }

    async fn user_count(&self) -> Result<u64, StoreError> {
        users::count(&self.pool).await
    }

    async fn set_archiving(&self, aor: &str, archiving: Option<bool>) -> Result<(), StoreError> {
        users::set_archiving(&self.pool, aor, archiving).await
    }

    async fn archiving_overrides(&self) -> Result<Vec<(String, bool)>, StoreError> {
        users::archiving_overrides(&self.pool).await
    }

    async fn enqueue_offline(
        &self,
        m: NewOfflineMessage,
        max_per_user: u32,
    ) -> Result<i64, StoreError> {
        offline::enqueue(&self.pool, m, max_per_user).await
    }

    async fn offline_for(
        &self,
        recipient: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<OfflineMessage>, StoreError> {
        offline::pending_for(&self.pool, recipient, now_ms, limit).await
    }

    async fn offline_delivered(&self, id: i64) -> Result<(), StoreError> {
        offline::delivered(&self.pool, id).await
    }

    async fn offline_recipients(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        offline::recipients(&self.pool, now_ms).await
    }

    async fn expire_offline(&self, now_ms: i64) -> Result<u64, StoreError> {
        offline::expire(&self.pool, now_ms).await
    }

    async fn archive(&self, rec: ArchiveRecord) -> Result<(), StoreError> {
        archive::append(&self.pool, rec).await
    }

    async fn archived_for(
        &self,
        user: &str,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> Result<Vec<ArchiveRecord>, StoreError> {
        archive::for_user(&self.pool, user, since_ms, until_ms).await
    }

    async fn add_contact(
        &self,
        owner: &str,
        c: NewContact,
        max_contacts: u32,
    ) -> Result<ContactEntry, StoreError> {
        contacts::add(&self.pool, owner, c, max_contacts).await
    }

    async fn remove_contact(&self, owner: &str, contact: &str) -> Result<(), StoreError> {
        contacts::remove(&self.pool, owner, contact).await
    }

    async fn contacts_of(&self, owner: &str) -> Result<Vec<ContactEntry>, StoreError> {
        contacts::list(&self.pool, owner).await
    }

    async fn set_access(
        &self,
        owner: &str,
        subject: &AccessSubject,
        level: Option<&str>,
    ) -> Result<(), StoreError> {
        access::set(&self.pool, owner, subject, level).await
    }

    async fn access_rules(&self, owner: &str) -> Result<Vec<AccessRule>, StoreError> {
        access::rules(&self.pool, owner).await
    }

    async fn set_privacy_mode(&self, owner: &str, on: bool) -> Result<(), StoreError> {
        access::set_privacy_mode(&self.pool, owner, on).await
    }

    async fn privacy_mode(&self, owner: &str) -> Result<bool, StoreError> {
        access::privacy_mode(&self.pool, owner).await
    }

    async fn set_policy(&self, user: Option<&str>, limits: PolicyLimits) -> Result<(), StoreError> {
        policy::set(&self.pool, user, limits).await
    }

    async fn policy(&self, user: Option<&str>) -> Result<PolicyLimits, StoreError> {
        policy::get(&self.pool, user).await
    }

    async fn effective_policy(&self, user: &str) -> Result<EffectivePolicy, StoreError> {
        policy::effective(&self.pool, user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn applied_migrations(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn reopening_applies_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let expected = i64::try_from(MIGRATOR.iter().count()).unwrap();
        assert!(expected >= 1);
        for _ in 0..3 {
            let store = SqliteStore::open(&path).await.unwrap();
            assert_eq!(applied_migrations(&store).await, expected);
            store.close().await;
        }
    }

    #[tokio::test]
    async fn file_database_uses_wal_and_normal_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("herald.db"))
            .await
            .unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        assert_eq!(synchronous, 1, "1 is NORMAL");
        assert_eq!(foreign_keys, 1);
        assert_eq!(busy_timeout_ms, 5000);
    }

    /// The query plan of `sql` as SQLite reports it, one step per line.
    async fn query_plan(store: &SqliteStore, sql: &str) -> String {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&store.pool)
                .await
                .unwrap();
        rows.into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every IM statement (as written in `offline.rs`, `archive.rs`, `users.rs`, with literals
    /// for parameters) must find its rows through an index, never by scanning a whole table.
    #[tokio::test]
    async fn im_queries_use_indexes() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        for sql in [
            "SELECT COUNT(*) FROM offline_messages WHERE recipient = 'a@x' AND expires_at_ms > 0",
            "SELECT id, body FROM offline_messages \
             WHERE recipient = 'a@x' AND expires_at_ms > 0 ORDER BY id LIMIT 10",
            "DELETE FROM offline_messages WHERE id = 1",
            "SELECT DISTINCT recipient FROM offline_messages WHERE expires_at_ms > 0 \
             ORDER BY recipient",
            "DELETE FROM offline_messages WHERE expires_at_ms <= 0",
            // The cascade run when a user is removed.
            "DELETE FROM offline_messages WHERE recipient = 'a@x'",
            "SELECT at_ms, body FROM im_archive \
             WHERE (sender = 'a@x' OR recipient = 'a@x') AND at_ms >= 0 \
             AND (NULL IS NULL OR at_ms < NULL) ORDER BY at_ms, id",
            "SELECT aor, archiving FROM users WHERE archiving IS NOT NULL ORDER BY aor",
        ] {
            let plan = query_plan(&store, sql).await;
            let full_scan = plan
                .lines()
                .any(|step| step.starts_with("SCAN") && !step.contains("INDEX"));
            assert!(!full_scan, "{sql}\n  scans a table:\n{plan}");
        }
    }

    /// Every presence statement (as written in `contacts.rs`, `access.rs`, `policy.rs`, plus the
    /// cascades run when a user is removed) finds its rows through an index.
    #[tokio::test]
    async fn presence_queries_use_indexes() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        for sql in [
            "SELECT id FROM contacts WHERE owner = 'a@x' AND contact = 'b@x'",
            "SELECT COUNT(*) FROM contacts WHERE owner = 'a@x'",
            "SELECT group_name FROM contact_groups WHERE contact_id = 1 ORDER BY group_name",
            "SELECT c.id, c.contact, c.display_name, g.group_name FROM contacts c \
             LEFT JOIN contact_groups g ON g.contact_id = c.id \
             WHERE c.owner = 'a@x' ORDER BY c.id, g.group_name",
            "DELETE FROM contacts WHERE owner = 'a@x' AND contact = 'b@x'",
            "SELECT subject, level FROM access_rules WHERE owner = 'a@x' ORDER BY subject",
            "DELETE FROM access_rules WHERE owner = 'a@x' AND subject = 'x'",
            "SELECT privacy_mode FROM users WHERE aor = 'a@x'",
            "SELECT max_contacts FROM presence_user_policies WHERE aor = 'a@x'",
            "SELECT p.max_contacts, s.max_contacts FROM users u \
             LEFT JOIN presence_user_policies p ON p.aor = u.aor \
             LEFT JOIN presence_server_policy s ON s.id = 1 WHERE u.aor = 'a@x'",
            // The cascades run when a user is removed.
            "DELETE FROM contacts WHERE owner = 'a@x'",
            "DELETE FROM contact_groups WHERE contact_id = 1",
            "DELETE FROM access_rules WHERE owner = 'a@x'",
            "DELETE FROM presence_user_policies WHERE aor = 'a@x'",
        ] {
            let plan = query_plan(&store, sql).await;
            let full_scan = plan
                .lines()
                .any(|step| step.starts_with("SCAN") && !step.contains("INDEX"));
            assert!(!full_scan, "{sql}\n  scans a table:\n{plan}");
        }
    }

    #[tokio::test]
    async fn open_existing_does_not_create_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        assert!(matches!(
            SqliteStore::open_existing(&path).await,
            Err(StoreError::Backend(_))
        ));
        assert!(!path.exists());
        SqliteStore::open(&path).await.unwrap().close().await;
        SqliteStore::open_existing(&path)
            .await
            .unwrap()
            .close()
            .await;
    }

    #[tokio::test]
    async fn unopenable_path_is_a_backend_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("herald.db");
        assert!(matches!(
            SqliteStore::open(&path).await,
            Err(StoreError::Backend(_))
        ));
    }
}
