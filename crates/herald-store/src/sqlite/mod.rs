//! Embedded SQLite backend: connection setup, migrations, and the [`Store`] implementation.
//!
//! The SQL for each kind of data lives in its own file (`users.rs`, `offline.rs`, `archive.rs`,
//! `contacts.rs`, `access.rs`, `policy.rs`, `conferences.rs`); this file only wires them to the
//! trait.

mod access;
mod archive;
mod backup;
mod conferences;
mod contacts;
mod durability;
mod offline;
mod policy;
mod users;

pub use backup::{Restored, SchemaCheck, StoreSummary};
pub use durability::Durability;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use tokio::sync::{Mutex, RwLock, RwLockReadGuard};

use crate::{
    AccessRule, AccessSubject, ArchiveRecord, ConferenceRecord, ContactEntry, EffectivePolicy,
    NewContact, NewOfflineMessage, NewUser, OfflineMessage, PolicyLimits, Store, StoreError, User,
};

/// SQLite has a single writer anyway; a few connections let readers run beside it (WAL).
const MAX_CONNECTIONS: u32 = 4;
/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// [`Store`] backed by an embedded SQLite database.
///
/// Clones share one database. Every operation holds a read guard on the pool for as long as
/// it runs, so that [`SqliteStore::restore_from`] can swap the database file under a running
/// server: it waits for the operations in progress and holds new ones until the restored
/// database is open.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: Arc<RwLock<SqlitePool>>,
    /// Where the database lives; `None` in memory.
    file: Option<Arc<FileStore>>,
}

/// What a file-backed store needs to reopen itself after a restore.
#[derive(Debug)]
struct FileStore {
    path: PathBuf,
    durability: Durability,
    /// One restore at a time.
    restoring: Mutex<()>,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` with the default [`Durability`] (see
    /// [`open_with`](Self::open_with)).
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, Durability::default()).await
    }

    /// Opens (creating if needed) `path`, runs migrations, WAL journal, `synchronous` as
    /// `durability` says, foreign keys on, busy timeout 5 s, a small pool.
    pub async fn open_with(path: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        Self::open_file(path, true, durability).await
    }

    /// Like [`open`](Self::open) but fails with [`StoreError::Backend`] if `path` does not exist
    /// yet, for tools that read a store and must not create an empty one by mistake.
    pub async fn open_existing(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_file(path, false, Durability::default()).await
    }

    async fn open_file(
        path: &Path,
        create: bool,
        durability: Durability,
    ) -> Result<SqliteStore, StoreError> {
        let pool = open_pool(path, create, durability).await?;
        migrate(&pool).await?;
        Ok(SqliteStore {
            pool: Arc::new(RwLock::new(pool)),
            file: Some(Arc::new(FileStore {
                path: path.to_owned(),
                durability,
                restoring: Mutex::new(()),
            })),
        })
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
        migrate(&pool).await?;
        Ok(SqliteStore {
            pool: Arc::new(RwLock::new(pool)),
            file: None,
        })
    }

    /// Waits for in-flight operations and closes every connection. Committed data is durable
    /// without this; it just shuts down cleanly (and lets SQLite fold the WAL back into the file).
    pub async fn close(&self) {
        self.pool.read().await.close().await;
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref().map(|f| f.path.as_path())
    }

    /// The current pool, held for the length of one operation.
    async fn pool(&self) -> RwLockReadGuard<'_, SqlitePool> {
        self.pool.read().await
    }
}

/// A pool on the database file `path`.
async fn open_pool(
    path: &Path,
    create: bool,
    durability: Durability,
) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(durability.synchronous())
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))
}

async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn add_user(&self, u: NewUser) -> Result<User, StoreError> {
        users::add(&*self.pool().await, u).await
    }

    async fn import_users(&self, users: Vec<NewUser>) -> Result<usize, StoreError> {
        users::import(&*self.pool().await, users).await
    }

    async fn get_user(&self, aor: &str) -> Result<Option<User>, StoreError> {
        users::get(&*self.pool().await, aor).await
    }

    async fn get_users(&self, aors: &[String]) -> Result<Vec<Option<User>>, StoreError> {
        users::get_many(&*self.pool().await, aors).await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        users::list(&*self.pool().await).await
    }

    async fn remove_user(&self, aor: &str) -> Result<(), StoreError> {
        users::remove(&*self.pool().await, aor).await
    }

    async fn set_password(
        &self,
        aor: &str,
        ha1_md5: &str,
        ha1_sha256: &str,
    ) -> Result<(), StoreError> {
        users::set_password(&*self.pool().await, aor, ha1_md5, ha1_sha256).await
    }

    async fn set_enabled(&self, aor: &str, enabled: bool) -> Result<(), StoreError> {
        users::set_enabled(&*self.pool().await, aor, enabled).await
    }

    async fn user_count(&self) -> Result<u64, StoreError> {
        users::count(&*self.pool().await).await
    }

    async fn set_archiving(&self, aor: &str, archiving: Option<bool>) -> Result<(), StoreError> {
        users::set_archiving(&*self.pool().await, aor, archiving).await
    }

    async fn archiving_overrides(&self) -> Result<Vec<(String, bool)>, StoreError> {
        users::archiving_overrides(&*self.pool().await).await
    }

    async fn enqueue_offline(
        &self,
        m: NewOfflineMessage,
        max_per_user: u32,
    ) -> Result<i64, StoreError> {
        offline::enqueue(&*self.pool().await, m, max_per_user).await
    }

    async fn offline_for(
        &self,
        recipient: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<OfflineMessage>, StoreError> {
        offline::pending_for(&*self.pool().await, recipient, now_ms, limit).await
    }

    async fn offline_delivered(&self, id: i64) -> Result<(), StoreError> {
        offline::delivered(&*self.pool().await, id).await
    }

    async fn offline_recipients(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        offline::recipients(&*self.pool().await, now_ms).await
    }

    async fn expire_offline(&self, now_ms: i64) -> Result<u64, StoreError> {
        offline::expire(&*self.pool().await, now_ms).await
    }

    async fn archive(&self, rec: ArchiveRecord) -> Result<(), StoreError> {
        archive::append(&*self.pool().await, rec).await
    }

    async fn archived_for(
        &self,
        user: &str,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> Result<Vec<ArchiveRecord>, StoreError> {
        archive::for_user(&*self.pool().await, user, since_ms, until_ms).await
    }

    async fn add_contact(
        &self,
        owner: &str,
        c: NewContact,
        max_contacts: u32,
    ) -> Result<ContactEntry, StoreError> {
        contacts::add(&*self.pool().await, owner, c, max_contacts).await
    }

    async fn remove_contact(&self, owner: &str, contact: &str) -> Result<(), StoreError> {
        contacts::remove(&*self.pool().await, owner, contact).await
    }

    async fn contacts_of(&self, owner: &str) -> Result<Vec<ContactEntry>, StoreError> {
        contacts::list(&*self.pool().await, owner).await
    }

    async fn set_access(
        &self,
        owner: &str,
        subject: &AccessSubject,
        level: Option<&str>,
    ) -> Result<(), StoreError> {
        access::set(&*self.pool().await, owner, subject, level).await
    }

    async fn access_rules(&self, owner: &str) -> Result<Vec<AccessRule>, StoreError> {
        access::rules(&*self.pool().await, owner).await
    }

    async fn set_privacy_mode(&self, owner: &str, on: bool) -> Result<(), StoreError> {
        access::set_privacy_mode(&*self.pool().await, owner, on).await
    }

    async fn privacy_mode(&self, owner: &str) -> Result<bool, StoreError> {
        access::privacy_mode(&*self.pool().await, owner).await
    }

    async fn set_policy(&self, user: Option<&str>, limits: PolicyLimits) -> Result<(), StoreError> {
        policy::set(&*self.pool().await, user, limits).await
    }

    async fn policy(&self, user: Option<&str>) -> Result<PolicyLimits, StoreError> {
        policy::get(&*self.pool().await, user).await
    }

    async fn effective_policy(&self, user: &str) -> Result<EffectivePolicy, StoreError> {
        policy::effective(&*self.pool().await, user).await
    }

    async fn conference_started(
        &self,
        uri: &str,
        creator: &str,
        started_ms: i64,
    ) -> Result<(), StoreError> {
        conferences::started(&*self.pool().await, uri, creator, started_ms).await
    }

    async fn conference_joined(
        &self,
        uri: &str,
        aor: &str,
        joined_ms: i64,
    ) -> Result<(), StoreError> {
        conferences::joined(&*self.pool().await, uri, aor, joined_ms).await
    }

    async fn conference_ended(
        &self,
        uri: &str,
        ended_ms: i64,
        message_count: u64,
        reason: &str,
    ) -> Result<(), StoreError> {
        conferences::ended(&*self.pool().await, uri, ended_ms, message_count, reason).await
    }

    async fn conference_records(&self, limit: u32) -> Result<Vec<ConferenceRecord>, StoreError> {
        conferences::records(&*self.pool().await, limit).await
    }

    async fn close_open_conferences(&self, now_ms: i64, reason: &str) -> Result<u64, StoreError> {
        conferences::close_open(&*self.pool().await, now_ms, reason).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImMode;

    async fn applied_migrations(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&*store.pool().await)
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
    async fn file_database_uses_wal_the_chosen_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        for durability in [Durability::Normal, Durability::Full] {
            let store = SqliteStore::open_with(&dir.path().join("herald.db"), durability)
                .await
                .unwrap();
            let mut conn = store.pool().await.acquire().await.unwrap();
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
            assert_eq!(synchronous, durability.pragma_value(), "{durability}");
            assert_eq!(foreign_keys, 1);
            assert_eq!(busy_timeout_ms, 5000);
            drop(conn);
            store.close().await;
        }
    }

    /// Fails when the plan of `sql` reads a table other than through an index (steps in
    /// `allowed` excepted, such as a subquery read as a whole).
    async fn assert_indexed(store: &SqliteStore, sql: &str, allowed: &[&str]) {
        let plan = query_plan(store, sql).await;
        let full_scan = plan.lines().any(|step| {
            step.starts_with("SCAN") && !step.contains("INDEX") && !allowed.contains(&step)
        });
        assert!(!full_scan, "{sql}\n  scans a table:\n{plan}");
    }

    /// The query plan of `sql` as SQLite reports it, one step per line.
    async fn query_plan(store: &SqliteStore, sql: &str) -> String {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&*store.pool().await)
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
            assert_indexed(&store, sql, &[]).await;
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
            assert_indexed(&store, sql, &[]).await;
        }
    }

    /// Every conference statement (as written in `conferences.rs`) finds its rows through an
    /// index; the listing's subquery is read as a whole, its table through an index.
    #[tokio::test]
    async fn conference_queries_use_indexes() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        for sql in [
            "SELECT ended_ms FROM conferences WHERE uri = 'conf-1@x'",
            "UPDATE conferences SET ended_ms = 1, end_reason = 'r', message_count = 2 \
             WHERE uri = 'conf-1@x'",
            "UPDATE conferences SET ended_ms = 1, end_reason = 'r' WHERE ended_ms IS NULL",
            "SELECT c.uri, c.creator, c.started_ms, c.ended_ms, c.end_reason, c.message_count, \
             p.aor FROM (SELECT rowid AS seq, uri, creator, started_ms, ended_ms, end_reason, \
             message_count FROM conferences ORDER BY started_ms DESC, rowid DESC LIMIT 50) c \
             LEFT JOIN conference_participants p ON p.conference = c.uri \
             ORDER BY c.started_ms DESC, c.seq DESC, p.joined_ms, p.rowid",
        ] {
            assert_indexed(&store, sql, &["SCAN c"]).await;
        }
    }

    /// A store created before conferences (migrations up to 0003) keeps its archive, with
    /// its ids and counter, and its policies when 0004 rebuilds the archive table.
    #[tokio::test]
    async fn upgrading_to_conferences_keeps_the_archive_and_policies() {
        let dir = tempfile::tempdir().unwrap();
        let old_migrations = dir.path().join("migrations");
        std::fs::create_dir(&old_migrations).unwrap();
        let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for name in ["0001_users.sql", "0002_im.sql", "0003_presence.sql"] {
            std::fs::copy(all.join(name), old_migrations.join(name)).unwrap();
        }
        let path = dir.path().join("herald.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let old = SqlitePool::connect_with(options).await.unwrap();
        Migrator::new(old_migrations.as_path())
            .await
            .unwrap()
            .run(&old)
            .await
            .unwrap();
        sqlx::raw_sql(
            "INSERT INTO im_archive (at_ms, sender, recipient, call_id, mode, content_type, body) \
             VALUES (1, 'a@x', 'b@x', 'c1', 'pager', 'text/plain', x'6869'), \
                    (2, 'b@x', 'a@x', 'c2', 'session', 'text/plain', x'796f'), \
                    (3, 'a@x', 'b@x', 'c3', 'pager', 'text/plain', x'21'); \
             DELETE FROM im_archive WHERE id = 3; \
             INSERT INTO presence_server_policy (id, max_contacts) VALUES (1, 77);",
        )
        .execute(&old)
        .await
        .unwrap();
        old.close().await;

        let store = SqliteStore::open(&path).await.unwrap();
        let kept = store.archived_for("a@x", 0, None).await.unwrap();
        let kept: Vec<(i64, &str, ImMode)> = kept
            .iter()
            .map(|r| (r.at_ms, r.call_id.as_str(), r.mode))
            .collect();
        assert_eq!(kept, [(1, "c1", ImMode::Pager), (2, "c2", ImMode::Session)]);
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM im_archive ORDER BY id")
            .fetch_all(&*store.pool().await)
            .await
            .unwrap();
        assert_eq!(ids, [1, 2]);

        store
            .archive(ArchiveRecord {
                at_ms: 4,
                sender: "a@x".to_owned(),
                recipient: "conf-1@x".to_owned(),
                call_id: "c4".to_owned(),
                mode: ImMode::Conference,
                content_type: "text/plain".to_owned(),
                body: b"all".to_vec(),
            })
            .await
            .unwrap();
        let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM im_archive")
            .fetch_one(&*store.pool().await)
            .await
            .unwrap();
        assert_eq!(newest, 4, "the deleted id 3 is not reused");

        assert_eq!(
            store.policy(None).await.unwrap(),
            PolicyLimits {
                max_contacts: Some(77),
                ..PolicyLimits::default()
            }
        );
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'im_archive' \
             ORDER BY name",
        )
        .fetch_all(&*store.pool().await)
        .await
        .unwrap();
        assert_eq!(indexes, ["im_archive_recipient_at", "im_archive_sender_at"]);
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
