//! The user directory in SQLite.
//!
//! Statements use `$N` placeholders and standard SQL (`ON CONFLICT ... DO NOTHING`,
//! `RETURNING`) that PostgreSQL accepts unchanged.

use std::collections::HashSet;

use sqlx::sqlite::{SqlitePool, SqliteQueryResult, SqliteRow};
use sqlx::{Executor, QueryBuilder, Row, Sqlite};

use crate::clock::unix_now;
use crate::validate::{canonical_aor, ha1_pair, new_user_record};
use crate::{NewUser, StoreError, User};

/// Rows per multi-row INSERT during import: 8 parameters each keeps a statement at 4000
/// parameters, far below SQLite's (32766) and PostgreSQL's (65535) limits, while cutting
/// per-statement overhead by a factor of 500.
const IMPORT_ROWS_PER_STATEMENT: usize = 500;

pub(super) async fn add(pool: &SqlitePool, new: NewUser) -> Result<User, StoreError> {
    let user = new_user_record(new, unix_now())?;
    // ON CONFLICT instead of catching the constraint error: a failed statement would abort a
    // surrounding PostgreSQL transaction, and this way both backends behave alike.
    let inserted = sqlx::query(
        "INSERT INTO users \
         (aor, username, domain, display_name, ha1_md5, ha1_sha256, enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (aor) DO NOTHING",
    )
    .bind(&user.aor)
    .bind(&user.username)
    .bind(&user.domain)
    .bind(&user.display_name)
    .bind(&user.ha1_md5)
    .bind(&user.ha1_sha256)
    .bind(user.enabled)
    .bind(user.created_at)
    .execute(pool)
    .await
    .map_err(StoreError::backend)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists(user.aor));
    }
    Ok(user)
}

pub(super) async fn import(pool: &SqlitePool, users: Vec<NewUser>) -> Result<usize, StoreError> {
    let now = unix_now();
    let records = users
        .into_iter()
        .map(|new| new_user_record(new, now))
        .collect::<Result<Vec<_>, _>>()?;
    reject_repeated_aors(&records)?;

    // IMMEDIATE takes the write lock up front (waiting up to the busy timeout) rather than
    // failing halfway through when another connection is writing.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::backend)?;
    for chunk in records.chunks(IMPORT_ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO users \
             (aor, username, domain, display_name, ha1_md5, ha1_sha256, enabled, created_at) ",
        );
        insert.push_values(chunk, |mut row, user| {
            row.push_bind(user.aor.as_str())
                .push_bind(user.username.as_str())
                .push_bind(user.domain.as_str())
                .push_bind(user.display_name.as_deref())
                .push_bind(user.ha1_md5.as_str())
                .push_bind(user.ha1_sha256.as_str())
                .push_bind(user.enabled)
                .push_bind(user.created_at);
        });
        // RETURNING tells exactly which rows went in, so a row left out names the duplicate.
        insert.push(" ON CONFLICT (aor) DO NOTHING RETURNING aor");
        let inserted: Vec<String> = insert
            .build_query_scalar()
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        if inserted.len() != chunk.len() {
            let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
            let duplicate = chunk
                .iter()
                .find(|user| !inserted.contains(user.aor.as_str()))
                .map_or_else(String::new, |user| user.aor.clone());
            tx.rollback().await.map_err(StoreError::backend)?;
            return Err(StoreError::AlreadyExists(duplicate));
        }
    }
    tx.commit().await.map_err(StoreError::backend)?;
    Ok(records.len())
}

/// A batch naming the same AOR twice would otherwise surface as a conflict with itself.
fn reject_repeated_aors(records: &[User]) -> Result<(), StoreError> {
    let mut seen = HashSet::with_capacity(records.len());
    match records.iter().find(|user| !seen.insert(user.aor.as_str())) {
        Some(repeated) => Err(StoreError::AlreadyExists(repeated.aor.clone())),
        None => Ok(()),
    }
}

pub(super) async fn get(pool: &SqlitePool, aor: &str) -> Result<Option<User>, StoreError> {
    let aor = canonical_aor(aor)?;
    let row = sqlx::query(
        "SELECT aor, username, domain, display_name, ha1_md5, ha1_sha256, enabled, created_at, \
         archiving FROM users WHERE aor = $1",
    )
    .bind(&aor)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::backend)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Addresses per `IN (...)` list: far below SQLite's parameter limit, and a statement
/// that stays cheap to prepare.
const LOOKUP_ROWS_PER_STATEMENT: usize = 500;

/// One statement per few hundred addresses instead of one each: a cache refreshing
/// thousands of entries pays the per-statement round trip to the connection's thread
/// once per batch.
pub(super) async fn get_many(
    pool: &SqlitePool,
    aors: &[String],
) -> Result<Vec<Option<User>>, StoreError> {
    let canonical: Vec<Option<String>> = aors.iter().map(|a| canonical_aor(a).ok()).collect();
    let valid: Vec<&str> = canonical.iter().flatten().map(String::as_str).collect();
    let mut found = std::collections::HashMap::with_capacity(valid.len());
    for chunk in valid.chunks(LOOKUP_ROWS_PER_STATEMENT) {
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT aor, username, domain, display_name, ha1_md5, ha1_sha256, enabled, \
             created_at, archiving FROM users WHERE aor IN (",
        );
        let mut list = select.separated(", ");
        for aor in chunk {
            list.push_bind(*aor);
        }
        select.push(")");
        let rows = select
            .build()
            .fetch_all(pool)
            .await
            .map_err(StoreError::backend)?;
        for row in &rows {
            let user = user_from_row(row)?;
            found.insert(user.aor.clone(), user);
        }
    }
    Ok(canonical
        .iter()
        .map(|aor| aor.as_ref().and_then(|a| found.get(a).cloned()))
        .collect())
}

pub(super) async fn list(pool: &SqlitePool) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query(
        "SELECT aor, username, domain, display_name, ha1_md5, ha1_sha256, enabled, created_at, \
         archiving FROM users ORDER BY aor",
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    rows.iter().map(user_from_row).collect()
}

pub(super) async fn remove(pool: &SqlitePool, aor: &str) -> Result<(), StoreError> {
    let aor = canonical_aor(aor)?;
    let deleted = sqlx::query("DELETE FROM users WHERE aor = $1")
        .bind(&aor)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    found(&deleted, aor)
}

pub(super) async fn set_password(
    pool: &SqlitePool,
    aor: &str,
    ha1_md5: &str,
    ha1_sha256: &str,
) -> Result<(), StoreError> {
    let aor = canonical_aor(aor)?;
    let (ha1_md5, ha1_sha256) = ha1_pair(ha1_md5, ha1_sha256)?;
    let updated = sqlx::query("UPDATE users SET ha1_md5 = $1, ha1_sha256 = $2 WHERE aor = $3")
        .bind(&ha1_md5)
        .bind(&ha1_sha256)
        .bind(&aor)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    found(&updated, aor)
}

pub(super) async fn set_enabled(
    pool: &SqlitePool,
    aor: &str,
    enabled: bool,
) -> Result<(), StoreError> {
    let aor = canonical_aor(aor)?;
    let updated = sqlx::query("UPDATE users SET enabled = $1 WHERE aor = $2")
        .bind(enabled)
        .bind(&aor)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    found(&updated, aor)
}

pub(super) async fn set_archiving(
    pool: &SqlitePool,
    aor: &str,
    archiving: Option<bool>,
) -> Result<(), StoreError> {
    let aor = canonical_aor(aor)?;
    let updated = sqlx::query("UPDATE users SET archiving = $1 WHERE aor = $2")
        .bind(archiving)
        .bind(&aor)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    found(&updated, aor)
}

pub(super) async fn archiving_overrides(
    pool: &SqlitePool,
) -> Result<Vec<(String, bool)>, StoreError> {
    sqlx::query_as("SELECT aor, archiving FROM users WHERE archiving IS NOT NULL ORDER BY aor")
        .fetch_all(pool)
        .await
        .map_err(StoreError::backend)
}

pub(super) async fn count(pool: &SqlitePool) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
        .map_err(StoreError::backend)?;
    u64::try_from(count).map_err(StoreError::backend)
}

/// NotFound unless `aor` (canonical) is a stored user. Takes a pool or a transaction, so a
/// write can check its owner under the same lock.
pub(super) async fn require<'e, E>(executor: E, aor: &str) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Sqlite>,
{
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE aor = $1")
        .bind(aor)
        .fetch_optional(executor)
        .await
        .map_err(StoreError::backend)?;
    match exists {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(aor.to_owned())),
    }
}

/// A statement aimed at one user's row: NotFound when it touched none.
pub(super) fn found(done: &SqliteQueryResult, aor: String) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(aor));
    }
    Ok(())
}

/// Decodes a row selected with the full user column list.
fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    let decode = || -> Result<User, sqlx::Error> {
        Ok(User {
            aor: row.try_get("aor")?,
            username: row.try_get("username")?,
            domain: row.try_get("domain")?,
            display_name: row.try_get("display_name")?,
            ha1_md5: row.try_get("ha1_md5")?,
            ha1_sha256: row.try_get("ha1_sha256")?,
            enabled: row.try_get("enabled")?,
            created_at: row.try_get("created_at")?,
            archiving: row.try_get("archiving")?,
        })
    };
    decode().map_err(StoreError::backend)
}
