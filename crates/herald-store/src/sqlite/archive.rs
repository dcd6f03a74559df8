//! The IM archive in SQLite: append-only, queried per user and time range.

use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use crate::validate::{archive_record, canonical_aor};
use crate::{ArchiveRecord, ImMode, StoreError};

pub(super) async fn append(pool: &SqlitePool, rec: ArchiveRecord) -> Result<(), StoreError> {
    let rec = archive_record(rec)?;
    sqlx::query(
        "INSERT INTO im_archive (at_ms, sender, recipient, call_id, mode, content_type, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(rec.at_ms)
    .bind(&rec.sender)
    .bind(&rec.recipient)
    .bind(&rec.call_id)
    .bind(rec.mode.as_str())
    .bind(&rec.content_type)
    .bind(&rec.body)
    .execute(pool)
    .await
    .map_err(StoreError::backend)?;
    Ok(())
}

pub(super) async fn for_user(
    pool: &SqlitePool,
    user: &str,
    since_ms: i64,
    until_ms: Option<i64>,
) -> Result<Vec<ArchiveRecord>, StoreError> {
    let user = canonical_aor(user)?;
    // OR over two indexed columns: SQLite answers each side from its own index and merges.
    // A message to oneself matches both sides but is one row, so it is listed once.
    // Ties in time keep insertion order (id).
    let rows = sqlx::query(
        "SELECT at_ms, sender, recipient, call_id, mode, content_type, body FROM im_archive \
         WHERE (sender = $1 OR recipient = $1) AND at_ms >= $2 AND ($3 IS NULL OR at_ms < $3) \
         ORDER BY at_ms, id",
    )
    .bind(&user)
    .bind(since_ms)
    .bind(until_ms)
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    rows.iter().map(record_from_row).collect()
}

/// Decodes a row selected with the full archive column list.
fn record_from_row(row: &SqliteRow) -> Result<ArchiveRecord, StoreError> {
    let mode: String = row.try_get("mode").map_err(StoreError::backend)?;
    // The CHECK constraint makes this unreachable short of a hand-edited database.
    let mode: ImMode = mode
        .parse()
        .map_err(|e| StoreError::Backend(format!("corrupt archive row: {e}")))?;
    let decode = || -> Result<ArchiveRecord, sqlx::Error> {
        Ok(ArchiveRecord {
            at_ms: row.try_get("at_ms")?,
            sender: row.try_get("sender")?,
            recipient: row.try_get("recipient")?,
            call_id: row.try_get("call_id")?,
            mode,
            content_type: row.try_get("content_type")?,
            body: row.try_get("body")?,
        })
    };
    decode().map_err(StoreError::backend)
}
