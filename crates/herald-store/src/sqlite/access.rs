//! Access rules and privacy mode in SQLite.

use sqlx::sqlite::SqlitePool;

use super::users;
use crate::validate::{access_level, access_subject, canonical_aor};
use crate::{AccessRule, AccessSubject, StoreError};

pub(super) async fn set(
    pool: &SqlitePool,
    owner: &str,
    subject: &AccessSubject,
    level: Option<&str>,
) -> Result<(), StoreError> {
    let owner = canonical_aor(owner)?;
    let subject = access_subject(subject)?;
    if subject == AccessSubject::User(owner.clone()) {
        return Err(StoreError::Invalid(format!(
            "{owner} cannot set an access level for themselves"
        )));
    }
    let Some(level) = level.map(access_level).transpose()? else {
        let deleted = sqlx::query("DELETE FROM access_rules WHERE owner = $1 AND subject = $2")
            .bind(&owner)
            .bind(subject.as_str())
            .execute(pool)
            .await
            .map_err(StoreError::backend)?;
        if deleted.rows_affected() == 0 {
            users::require(pool, &owner).await?;
        }
        return Ok(());
    };
    let mut tx = pool.begin().await.map_err(StoreError::backend)?;
    // Checked first so a missing owner is NotFound rather than a foreign-key failure.
    users::require(&mut *tx, &owner).await?;
    sqlx::query(
        "INSERT INTO access_rules (owner, subject, level) VALUES ($1, $2, $3) \
         ON CONFLICT (owner, subject) DO UPDATE SET level = excluded.level",
    )
    .bind(&owner)
    .bind(subject.as_str())
    .bind(level)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::backend)?;
    tx.commit().await.map_err(StoreError::backend)
}

pub(super) async fn rules(pool: &SqlitePool, owner: &str) -> Result<Vec<AccessRule>, StoreError> {
    let owner = canonical_aor(owner)?;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT subject, level FROM access_rules WHERE owner = $1 ORDER BY subject")
            .bind(&owner)
            .fetch_all(pool)
            .await
            .map_err(StoreError::backend)?;
    if rows.is_empty() {
        users::require(pool, &owner).await?;
    }
    Ok(rows
        .into_iter()
        .map(|(subject, level)| AccessRule {
            subject: stored_subject(subject),
            level,
        })
        .collect())
}

pub(super) async fn set_privacy_mode(
    pool: &SqlitePool,
    owner: &str,
    on: bool,
) -> Result<(), StoreError> {
    let owner = canonical_aor(owner)?;
    let updated = sqlx::query("UPDATE users SET privacy_mode = $1 WHERE aor = $2")
        .bind(on)
        .bind(&owner)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    users::found(&updated, owner)
}

pub(super) async fn privacy_mode(pool: &SqlitePool, owner: &str) -> Result<bool, StoreError> {
    let owner = canonical_aor(owner)?;
    let on: Option<bool> = sqlx::query_scalar("SELECT privacy_mode FROM users WHERE aor = $1")
        .bind(&owner)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::backend)?;
    on.ok_or(StoreError::NotFound(owner))
}

/// Subjects were stored in canonical form: only user subjects hold an `@`.
fn stored_subject(subject: String) -> AccessSubject {
    if subject.contains('@') {
        AccessSubject::User(subject)
    } else {
        AccessSubject::Domain(subject)
    }
}
