//! Consistent copies of the database: backups taken beside a server that keeps writing, and
//! restores that check a file before putting it in place of the store.
//!
//! A backup is `VACUUM INTO` from a connection of its own: it runs in one read transaction,
//! so in WAL mode it sees a snapshot of every commit up to its start while writers go on,
//! and the copy is a compact database file with no WAL beside it. It is written under a
//! temporary name, synced, then given its name, so a crash never leaves half a backup.
//!
//! A restore first checks the file (a SQLite database, `integrity_check` ok, its applied
//! migrations a prefix of this binary's), copies and syncs it next to the store, keeps the
//! replaced database under `<name>.before-restore-<unix time>` (with its WAL), and renames the
//! copy into place. The old WAL must never be left beside the new file: SQLite would replay
//! its pages into a database they do not belong to.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row, SqliteExecutor};

use super::{Durability, MIGRATOR, SqliteStore, migrate, open_pool};
use crate::StoreError;

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What a store file holds, counted from the file itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreSummary {
    /// The file's size in bytes.
    pub bytes: u64,
    /// Its schema: the newest migration applied, and how it compares with this binary's.
    pub schema: SchemaCheck,
    /// Users in the directory.
    pub users: u64,
    /// Messages queued for offline recipients.
    pub offline_messages: u64,
    /// Records in the IM archive.
    pub archived_messages: u64,
    /// Contact-list entries, all owners together.
    pub contacts: u64,
    /// Conference monitoring records.
    pub conferences: u64,
}

/// How a file's schema compares with the migrations this binary carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaCheck {
    /// The newest migration applied to the file.
    pub version: i64,
    /// The newest migration this binary knows; the file is brought up to it when opened.
    pub latest: i64,
}

/// A restore done: what the store now holds, and where the database it replaced was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The restored file, as checked before it was put in place.
    pub summary: StoreSummary,
    /// The replaced database (and its WAL, as `<that name>-wal`), if there was one.
    pub previous: Option<PathBuf>,
}

impl SqliteStore {
    /// Writes a consistent snapshot of the database file `db` to `dest` from a read-only
    /// connection of its own, while a server may be writing to `db`. `dest` must not exist
    /// unless `replace`. Returns what the copy holds, read back from it (which also checks it).
    pub async fn backup_file(
        db: &Path,
        dest: &Path,
        replace: bool,
    ) -> Result<StoreSummary, StoreError> {
        if !db.is_file() {
            return Err(StoreError::Invalid(format!("no store at {}", db.display())));
        }
        refuse_existing(dest, replace)?;
        let options = SqliteConnectOptions::new()
            .filename(db)
            .read_only(true)
            .create_if_missing(false);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", db.display())))?;
        let written = write_snapshot(&mut conn, dest, replace).await;
        let _ = conn.close().await;
        written?;
        Self::inspect(dest).await
    }

    /// Like [`backup_file`](Self::backup_file), through this store's own connections.
    pub async fn backup_to(&self, dest: &Path, replace: bool) -> Result<StoreSummary, StoreError> {
        refuse_existing(dest, replace)?;
        {
            let pool = self.pool().await;
            let mut conn = pool.acquire().await.map_err(StoreError::backend)?;
            write_snapshot(&mut *conn, dest, replace).await?;
        }
        Self::inspect(dest).await
    }

    /// Checks that `file` is a Herald store this binary can open: a SQLite database that
    /// passes `PRAGMA integrity_check`, whose applied migrations are this binary's first ones
    /// (none newer, none altered). Reads it as an unchanging file, without locks or WAL.
    pub async fn inspect(file: &Path) -> Result<StoreSummary, StoreError> {
        let bytes = check_header(file)?;
        let options = SqliteConnectOptions::new()
            .filename(file)
            .read_only(true)
            .immutable(true)
            .create_if_missing(false);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", file.display())))?;
        let summary = summarize(&mut conn, bytes).await;
        let _ = conn.close().await;
        summary.map_err(|reason| StoreError::Invalid(format!("{}: {reason}", file.display())))
    }

    /// Replaces the database file `db` with a copy of the store `source` (checked first).
    /// No server may be using `db`: see [`restore_from`](Self::restore_from) for that.
    pub async fn restore_file(db: &Path, source: &Path) -> Result<Restored, StoreError> {
        let summary = Self::inspect(source).await?;
        let staged = stage_copy(source, db)?;
        let previous = swap_in(db, &staged).inspect_err(|_| {
            let _ = std::fs::remove_file(&staged);
        })?;
        Ok(Restored { summary, previous })
    }

    /// Replaces this store's database with a copy of `source` while it is in use: the file
    /// is checked and copied first; then operations in progress finish, new ones wait, the
    /// database is closed, swapped and reopened (migrated), and the waiting operations go on
    /// against the restored data. Fails for a store in memory.
    pub async fn restore_from(&self, source: &Path) -> Result<Restored, StoreError> {
        let Some(file) = self.file.as_deref() else {
            return Err(StoreError::Invalid(
                "a store in memory cannot be restored".into(),
            ));
        };
        let _one_at_a_time = file.restoring.lock().await;
        let summary = Self::inspect(source).await?;
        let staged = stage_copy(source, &file.path)?;
        let mut pool = self.pool.write().await;
        pool.close().await;
        let swapped = swap_in(&file.path, &staged);
        if swapped.is_err() {
            let _ = std::fs::remove_file(&staged);
        }
        // Whatever the swap did, reopen what is now at the path; a failed swap leaves the
        // old database there.
        let reopened = reopen(&file.path, file.durability).await;
        match (swapped, reopened) {
            (Ok(previous), Ok(new_pool)) => {
                *pool = new_pool;
                Ok(Restored { summary, previous })
            }
            (Err(e), Ok(old_pool)) => {
                *pool = old_pool;
                Err(e)
            }
            (_, Err(e)) => Err(StoreError::Backend(format!(
                "the store could not be reopened after the restore: {e}"
            ))),
        }
    }
}

async fn reopen(path: &Path, durability: Durability) -> Result<sqlx::SqlitePool, StoreError> {
    let pool = open_pool(path, false, durability).await?;
    migrate(&pool).await?;
    Ok(pool)
}

fn refuse_existing(dest: &Path, replace: bool) -> Result<(), StoreError> {
    if !replace && dest.exists() {
        return Err(StoreError::Invalid(format!(
            "{} already exists (give --force to overwrite it)",
            dest.display()
        )));
    }
    Ok(())
}

/// `VACUUM INTO` a temporary file next to `dest`, synced, then named `dest`.
async fn write_snapshot<'c, E>(conn: E, dest: &Path, replace: bool) -> Result<(), StoreError>
where
    E: SqliteExecutor<'c>,
{
    let staged = sibling(dest, "partial")?;
    remove_if_present(&staged)?;
    let Some(target) = staged.to_str() else {
        return Err(StoreError::Invalid(format!(
            "{} is not a UTF-8 path",
            dest.display()
        )));
    };
    let sql = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
    if let Err(e) = conn.execute(sql.as_str()).await {
        let _ = std::fs::remove_file(&staged);
        return Err(StoreError::Backend(format!(
            "cannot write {}: {e}",
            dest.display()
        )));
    }
    let placed = sync_file(&staged).and_then(|()| place(&staged, dest, replace));
    if placed.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    placed.map_err(|e| io_error(dest, e))?;
    sync_dir(dest).map_err(|e| io_error(dest, e))
}

/// Gives `staged` the name `dest`: atomically replacing it when `replace`, else only if
/// `dest` still does not exist.
fn place(staged: &Path, dest: &Path, replace: bool) -> io::Result<()> {
    if replace {
        return std::fs::rename(staged, dest);
    }
    match std::fs::hard_link(staged, dest) {
        Ok(()) => std::fs::remove_file(staged),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "it appeared while the backup was written (give --force to overwrite it)",
        )),
        // A file system without hard links: the check made before the copy stands.
        Err(_) if !dest.exists() => std::fs::rename(staged, dest),
        Err(e) => Err(e),
    }
}

/// Copies `source` next to the database `db`, synced, ready to be renamed over it.
fn stage_copy(source: &Path, db: &Path) -> Result<PathBuf, StoreError> {
    let staged = sibling(db, "restore")?;
    remove_if_present(&staged)?;
    let copied = std::fs::copy(source, &staged).and_then(|_| sync_file(&staged));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&staged);
        return Err(io_error(&staged, e));
    }
    Ok(staged)
}

/// Puts `staged` in place of the database `db` (closed by every connection of ours). The
/// old database stays under a `before-restore` name with its WAL, hard-linked before
/// anything is removed; the WAL and shared-memory index at `db` go before the new file
/// arrives. A crash part-way leaves either the old database (perhaps without the commits
/// of its WAL, which the kept copy has) or the new one, never a mix.
fn swap_in(db: &Path, staged: &Path) -> Result<Option<PathBuf>, StoreError> {
    let wal = with_suffix(db, "-wal");
    let shm = with_suffix(db, "-shm");
    let previous = if db.exists() {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let kept = with_suffix(db, &format!(".before-restore-{secs}"));
        keep(db, &kept)?;
        if wal.exists() {
            keep(&wal, &with_suffix(&kept, "-wal"))?;
        }
        Some(kept)
    } else {
        None
    };
    remove_if_present(&wal)?;
    remove_if_present(&shm)?;
    std::fs::rename(staged, db).map_err(|e| io_error(db, e))?;
    sync_dir(db).map_err(|e| io_error(db, e))?;
    Ok(previous)
}

/// A second name for `file` (a copy where hard links are not available).
fn keep(file: &Path, kept: &Path) -> Result<(), StoreError> {
    remove_if_present(kept)?;
    std::fs::hard_link(file, kept)
        .or_else(|_| std::fs::copy(file, kept).and_then(|_| sync_file(kept)))
        .map_err(|e| io_error(kept, e))
}

/// `.<name>.<what>-<pid>` in the directory of `path`: on the same file system, so a
/// rename puts it in place atomically.
fn sibling(path: &Path, what: &str) -> Result<PathBuf, StoreError> {
    let Some(name) = path.file_name() else {
        return Err(StoreError::Invalid(format!(
            "{} is not a file name",
            path.display()
        )));
    };
    let name = format!(".{}.{what}-{}", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(name))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(path, e)),
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Makes a rename or creation in `path`'s directory durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

fn io_error(path: &Path, e: io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {e}", path.display()))
}

/// The file's size, once its first bytes say it is a SQLite database.
fn check_header(file: &Path) -> Result<u64, StoreError> {
    let invalid = |reason: &str| StoreError::Invalid(format!("{}: {reason}", file.display()));
    let meta = std::fs::metadata(file).map_err(|e| invalid(&e.to_string()))?;
    if !meta.is_file() {
        return Err(invalid("not a regular file"));
    }
    let mut header = [0u8; 16];
    File::open(file)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|_| invalid("not a SQLite database (too short)"))?;
    if &header != SQLITE_HEADER {
        return Err(invalid("not a SQLite database"));
    }
    Ok(meta.len())
}

/// Checks the open file and counts what it holds; Err is the reason it is refused.
async fn summarize(conn: &mut SqliteConnection, bytes: u64) -> Result<StoreSummary, String> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("not a readable SQLite database ({e})"))?;
    if problems != ["ok"] {
        let first: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
        return Err(format!("integrity check failed: {}", first.join("; ")));
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err("not a Herald store (no migration history)".into());
    }
    let applied =
        sqlx::query("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| format!("unreadable migration history: {e}"))?;
    let mut history = Vec::with_capacity(applied.len());
    for row in &applied {
        let version: i64 = row.try_get("version").map_err(|e| e.to_string())?;
        let checksum: Vec<u8> = row.try_get("checksum").map_err(|e| e.to_string())?;
        let success: bool = row.try_get("success").map_err(|e| e.to_string())?;
        history.push((version, checksum, success));
    }
    let schema = check_schema(&history)?;
    Ok(StoreSummary {
        bytes,
        schema,
        users: count_rows(conn, &tables, "users").await?,
        offline_messages: count_rows(conn, &tables, "offline_messages").await?,
        archived_messages: count_rows(conn, &tables, "im_archive").await?,
        contacts: count_rows(conn, &tables, "contacts").await?,
        conferences: count_rows(conn, &tables, "conferences").await?,
    })
}

/// Rows in `table`, 0 when the file's schema predates it.
async fn count_rows(
    conn: &mut SqliteConnection,
    tables: &[String],
    table: &str,
) -> Result<u64, String> {
    if !tables.iter().any(|t| t == table) {
        return Ok(0);
    }
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| format!("cannot count {table}: {e}"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The file's migrations, `(version, checksum, success)` in version order, must be this
/// binary's first ones, unaltered and all applied.
fn check_schema(history: &[(i64, Vec<u8>, bool)]) -> Result<SchemaCheck, String> {
    let ours: HashMap<i64, Cow<'_, [u8]>> = MIGRATOR
        .iter()
        .map(|m| (m.version, m.checksum.clone()))
        .collect();
    let mut versions: Vec<i64> = ours.keys().copied().collect();
    versions.sort_unstable();
    let latest = versions.last().copied().unwrap_or(0);
    let Some(&(version, _, _)) = history.last() else {
        return Err("not a Herald store (no migration applied)".into());
    };
    if version > latest {
        return Err(format!(
            "made by a newer Herald (schema version {version}; this one knows up to {latest})"
        ));
    }
    if history.len() > versions.len() {
        return Err("its migration history does not match this Herald's".into());
    }
    for ((applied, checksum, success), expected) in history.iter().zip(&versions) {
        if applied != expected {
            return Err(format!(
                "its migration history does not match this Herald's (version {applied} where {expected} was expected)"
            ));
        }
        if !success {
            return Err(format!("migration {applied} did not complete"));
        }
        if ours
            .get(applied)
            .is_none_or(|c| c.as_ref() != checksum.as_slice())
        {
            return Err(format!(
                "schema version {applied} differs from this Herald's (altered by hand?)"
            ));
        }
    }
    Ok(SchemaCheck { version, latest })
}
