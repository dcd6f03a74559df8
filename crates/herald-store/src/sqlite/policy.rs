//! User policies in SQLite: one server-wide row, one row per user with a policy.
//! A policy with every setting inherited is not stored at all.

use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};

use super::users;
use crate::validate::{canonical_aor, policy_limits};
use crate::{EffectivePolicy, PolicyLimits, StoreError};

pub(super) async fn set(
    pool: &SqlitePool,
    user: Option<&str>,
    limits: PolicyLimits,
) -> Result<(), StoreError> {
    let limits = policy_limits(limits)?;
    let mut tx = pool.begin().await.map_err(StoreError::backend)?;
    match user {
        None => set_server(&mut tx, limits).await?,
        Some(user) => {
            let user = canonical_aor(user)?;
            users::require(&mut *tx, &user).await?;
            set_user(&mut tx, &user, limits).await?;
        }
    }
    tx.commit().await.map_err(StoreError::backend)
}

async fn set_server(
    tx: &mut Transaction<'_, Sqlite>,
    limits: PolicyLimits,
) -> Result<(), StoreError> {
    let statement = if limits.is_empty() {
        sqlx::query("DELETE FROM presence_server_policy WHERE id = 1")
    } else {
        bind_limits(
            sqlx::query(
                "INSERT INTO presence_server_policy \
                 (id, max_contacts, max_subscriptions, max_prompted, create_conferences) \
                 VALUES (1, $1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET max_contacts = excluded.max_contacts, \
                 max_subscriptions = excluded.max_subscriptions, \
                 max_prompted = excluded.max_prompted, \
                 create_conferences = excluded.create_conferences",
            ),
            limits,
        )
    };
    statement
        .execute(&mut **tx)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

async fn set_user(
    tx: &mut Transaction<'_, Sqlite>,
    user: &str,
    limits: PolicyLimits,
) -> Result<(), StoreError> {
    let statement = if limits.is_empty() {
        sqlx::query("DELETE FROM presence_user_policies WHERE aor = $1").bind(user)
    } else {
        bind_limits(
            sqlx::query(
                "INSERT INTO presence_user_policies \
                 (max_contacts, max_subscriptions, max_prompted, create_conferences, aor) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (aor) DO UPDATE SET max_contacts = excluded.max_contacts, \
                 max_subscriptions = excluded.max_subscriptions, \
                 max_prompted = excluded.max_prompted, \
                 create_conferences = excluded.create_conferences",
            ),
            limits,
        )
        .bind(user)
    };
    statement
        .execute(&mut **tx)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

pub(super) async fn get(pool: &SqlitePool, user: Option<&str>) -> Result<PolicyLimits, StoreError> {
    let Some(user) = user else {
        let row = sqlx::query(
            "SELECT max_contacts, max_subscriptions, max_prompted, create_conferences \
             FROM presence_server_policy WHERE id = 1",
        )
        .fetch_optional(pool)
        .await
        .map_err(StoreError::backend)?;
        return row.map_or(Ok(PolicyLimits::default()), |row| limits_from_row(&row, ""));
    };
    let user = canonical_aor(user)?;
    let row = sqlx::query(
        "SELECT max_contacts, max_subscriptions, max_prompted, create_conferences \
         FROM presence_user_policies WHERE aor = $1",
    )
    .bind(&user)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::backend)?;
    match row {
        Some(row) => limits_from_row(&row, ""),
        None => {
            users::require(pool, &user).await?;
            Ok(PolicyLimits::default())
        }
    }
}

pub(super) async fn effective(
    pool: &SqlitePool,
    user: &str,
) -> Result<EffectivePolicy, StoreError> {
    let user = canonical_aor(user)?;
    // One statement, so the user's and the server's policy are read from one snapshot.
    let row = sqlx::query(
        "SELECT p.max_contacts AS user_max_contacts, \
         p.max_subscriptions AS user_max_subscriptions, p.max_prompted AS user_max_prompted, \
         p.create_conferences AS user_create_conferences, \
         s.max_contacts AS server_max_contacts, \
         s.max_subscriptions AS server_max_subscriptions, \
         s.max_prompted AS server_max_prompted, \
         s.create_conferences AS server_create_conferences \
         FROM users u \
         LEFT JOIN presence_user_policies p ON p.aor = u.aor \
         LEFT JOIN presence_server_policy s ON s.id = 1 \
         WHERE u.aor = $1",
    )
    .bind(&user)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::backend)?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(user));
    };
    let own = limits_from_row(&row, "user_")?;
    let server = limits_from_row(&row, "server_")?;
    Ok(own.or(server).resolve())
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// Binds the three limits and the conference switch as the next four parameters (`$1` to
/// `$4` on a fresh query).
fn bind_limits(query: SqliteQuery<'_>, limits: PolicyLimits) -> SqliteQuery<'_> {
    query
        .bind(limits.max_contacts.map(i64::from))
        .bind(limits.max_subscriptions.map(i64::from))
        .bind(limits.max_prompted.map(i64::from))
        .bind(limits.create_conferences)
}

/// Decodes the columns `{prefix}max_contacts`, `{prefix}max_subscriptions`,
/// `{prefix}max_prompted` and `{prefix}create_conferences`.
fn limits_from_row(row: &SqliteRow, prefix: &str) -> Result<PolicyLimits, StoreError> {
    let limit = |name: &str| -> Result<Option<u32>, StoreError> {
        let stored: Option<i64> = row
            .try_get(format!("{prefix}{name}").as_str())
            .map_err(StoreError::backend)?;
        // set_policy only stores values that fit; anything else was written by hand.
        stored
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StoreError::Backend(format!("corrupt policy row: {name} out of range")))
    };
    Ok(PolicyLimits {
        max_contacts: limit("max_contacts")?,
        max_subscriptions: limit("max_subscriptions")?,
        max_prompted: limit("max_prompted")?,
        create_conferences: row
            .try_get(format!("{prefix}create_conferences").as_str())
            .map_err(StoreError::backend)?,
    })
}
