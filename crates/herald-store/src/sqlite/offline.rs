//! The offline message queue in SQLite.
//!
//! Every write commits before returning (WAL, synchronous=NORMAL): a message the server
//! answered 202 for survives a crash of the process.

use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use crate::validate::{canonical_aor, offline_message};
use crate::{NewOfflineMessage, OfflineMessage, StoreError};

const MESSAGE_COLUMNS: &str = "id, recipient, sender, from_header, content_type, body, date, \
                               call_id, received_at_ms, expires_at_ms";

pub(super) async fn enqueue(
    pool: &SqlitePool,
    new: NewOfflineMessage,
    max_per_user: u32,
) -> Result<i64, StoreError> {
    let m = offline_message(new)?;
    // IMMEDIATE takes the write lock before counting, so two enqueues for one recipient
    // cannot both see room for one more message.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::backend)?;
    let recipient_exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE aor = $1")
        .bind(&m.recipient)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
    if recipient_exists.is_none() {
        return Err(StoreError::NotFound(m.recipient));
    }
    // Messages already expired but not yet purged do not take a place in the queue.
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM offline_messages WHERE recipient = $1 AND expires_at_ms > $2",
    )
    .bind(&m.recipient)
    .bind(m.received_at_ms)
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::backend)?;
    if queued >= i64::from(max_per_user) {
        return Err(StoreError::LimitReached {
            recipient: m.recipient,
            limit: max_per_user,
        });
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO offline_messages \
         (recipient, sender, from_header, content_type, body, date, call_id, \
          received_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&m.recipient)
    .bind(&m.sender)
    .bind(&m.from_header)
    .bind(&m.content_type)
    .bind(&m.body)
    .bind(&m.date)
    .bind(&m.call_id)
    .bind(m.received_at_ms)
    .bind(m.expires_at_ms)
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::backend)?;
    tx.commit().await.map_err(StoreError::backend)?;
    Ok(id)
}

pub(super) async fn pending_for(
    pool: &SqlitePool,
    recipient: &str,
    now_ms: i64,
    limit: u32,
) -> Result<Vec<OfflineMessage>, StoreError> {
    let recipient = canonical_aor(recipient)?;
    let rows = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM offline_messages \
         WHERE recipient = $1 AND expires_at_ms > $2 ORDER BY id LIMIT $3"
    ))
    .bind(&recipient)
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    rows.iter().map(message_from_row).collect()
}

pub(super) async fn delivered(pool: &SqlitePool, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM offline_messages WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

pub(super) async fn recipients(pool: &SqlitePool, now_ms: i64) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT DISTINCT recipient FROM offline_messages WHERE expires_at_ms > $1 \
         ORDER BY recipient",
    )
    .bind(now_ms)
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)
}

pub(super) async fn expire(pool: &SqlitePool, now_ms: i64) -> Result<u64, StoreError> {
    let deleted = sqlx::query("DELETE FROM offline_messages WHERE expires_at_ms <= $1")
        .bind(now_ms)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    Ok(deleted.rows_affected())
}

/// Decodes a row selected with [`MESSAGE_COLUMNS`].
fn message_from_row(row: &SqliteRow) -> Result<OfflineMessage, StoreError> {
    let decode = || -> Result<OfflineMessage, sqlx::Error> {
        Ok(OfflineMessage {
            id: row.try_get("id")?,
            recipient: row.try_get("recipient")?,
            sender: row.try_get("sender")?,
            from_header: row.try_get("from_header")?,
            content_type: row.try_get("content_type")?,
            body: row.try_get("body")?,
            date: row.try_get("date")?,
            call_id: row.try_get("call_id")?,
            received_at_ms: row.try_get("received_at_ms")?,
            expires_at_ms: row.try_get("expires_at_ms")?,
        })
    };
    decode().map_err(StoreError::backend)
}
