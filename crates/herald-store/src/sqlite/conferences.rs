//! Conference monitoring records in SQLite: one row per conference, one per participant.

use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};

use crate::validate::{conference_member, conference_uri, end_reason, message_count};
use crate::{ConferenceRecord, StoreError};

pub(super) async fn started(
    pool: &SqlitePool,
    uri: &str,
    creator: &str,
    started_ms: i64,
) -> Result<(), StoreError> {
    let uri = conference_uri(uri)?;
    let creator = conference_member(creator)?;
    let inserted = sqlx::query(
        "INSERT INTO conferences (uri, creator, started_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (uri) DO NOTHING",
    )
    .bind(&uri)
    .bind(&creator)
    .bind(started_ms)
    .execute(pool)
    .await
    .map_err(StoreError::backend)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::ConferenceExists(uri));
    }
    Ok(())
}

pub(super) async fn joined(
    pool: &SqlitePool,
    uri: &str,
    aor: &str,
    joined_ms: i64,
) -> Result<(), StoreError> {
    let uri = conference_uri(uri)?;
    let aor = conference_member(aor)?;
    // IMMEDIATE: the check that the conference exists and the insert see the same state.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::backend)?;
    // An ended conference still takes a join: writers run concurrently, so a join may
    // reach the store after the end it preceded, and it did happen.
    ended_at(&mut tx, &uri).await?;
    // A participant who leaves and comes back keeps their first join.
    sqlx::query(
        "INSERT INTO conference_participants (conference, aor, joined_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (conference, aor) DO NOTHING",
    )
    .bind(&uri)
    .bind(&aor)
    .bind(joined_ms)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::backend)?;
    tx.commit().await.map_err(StoreError::backend)
}

pub(super) async fn ended(
    pool: &SqlitePool,
    uri: &str,
    ended_ms: i64,
    messages: u64,
    reason: &str,
) -> Result<(), StoreError> {
    let uri = conference_uri(uri)?;
    let reason = end_reason(reason)?;
    let messages = message_count(messages)?;
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::backend)?;
    if ended_at(&mut tx, &uri).await?.is_some() {
        return Err(StoreError::Invalid(format!(
            "conference {uri} has already ended"
        )));
    }
    sqlx::query(
        "UPDATE conferences SET ended_ms = $1, end_reason = $2, message_count = $3 \
         WHERE uri = $4",
    )
    .bind(ended_ms)
    .bind(reason)
    .bind(messages)
    .bind(&uri)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::backend)?;
    tx.commit().await.map_err(StoreError::backend)
}

/// When the conference `uri` (canonical) ended, `None` while it runs;
/// [`StoreError::NoSuchConference`] unless it was started.
async fn ended_at(tx: &mut Transaction<'_, Sqlite>, uri: &str) -> Result<Option<i64>, StoreError> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT ended_ms FROM conferences WHERE uri = $1")
            .bind(uri)
            .fetch_optional(&mut **tx)
            .await
            .map_err(StoreError::backend)?;
    match row {
        None => Err(StoreError::NoSuchConference(uri.to_owned())),
        Some((ended_ms,)) => Ok(ended_ms),
    }
}

pub(super) async fn close_open(
    pool: &SqlitePool,
    now_ms: i64,
    reason: &str,
) -> Result<u64, StoreError> {
    let reason = end_reason(reason)?;
    // The message count stays as stored: the focus that counted them is gone.
    let closed =
        sqlx::query("UPDATE conferences SET ended_ms = $1, end_reason = $2 WHERE ended_ms IS NULL")
            .bind(now_ms)
            .bind(reason)
            .execute(pool)
            .await
            .map_err(StoreError::backend)?;
    Ok(closed.rows_affected())
}

pub(super) async fn records(
    pool: &SqlitePool,
    limit: u32,
) -> Result<Vec<ConferenceRecord>, StoreError> {
    // One statement, so the records and their participants come from one snapshot. Ties in
    // start time go newest-inserted first; participants follow their first join (rowid
    // breaks ties within a millisecond). A conference without participants yields one row
    // with a NULL aor.
    let rows = sqlx::query(
        "SELECT c.uri, c.creator, c.started_ms, c.ended_ms, c.end_reason, c.message_count, \
         p.aor FROM (SELECT rowid AS seq, uri, creator, started_ms, ended_ms, end_reason, \
         message_count FROM conferences ORDER BY started_ms DESC, rowid DESC LIMIT $1) c \
         LEFT JOIN conference_participants p ON p.conference = c.uri \
         ORDER BY c.started_ms DESC, c.seq DESC, p.joined_ms, p.rowid",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    let mut records: Vec<ConferenceRecord> = Vec::new();
    for row in &rows {
        let uri: String = row.try_get("uri").map_err(StoreError::backend)?;
        let participant: Option<String> = row.try_get("aor").map_err(StoreError::backend)?;
        match records.last_mut() {
            Some(record) if record.uri == uri => record.participants.extend(participant),
            _ => {
                let mut record = record_from_row(row, uri)?;
                record.participants.extend(participant);
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// Decodes a conference's own columns (participants are added by the caller).
fn record_from_row(row: &SqliteRow, uri: String) -> Result<ConferenceRecord, StoreError> {
    let count: i64 = row.try_get("message_count").map_err(StoreError::backend)?;
    // Only conference_ended writes it, from a u64 checked to fit.
    let message_count = u64::try_from(count).map_err(|_| {
        StoreError::Backend(format!(
            "corrupt conference row {uri}: negative message count"
        ))
    })?;
    Ok(ConferenceRecord {
        creator: row.try_get("creator").map_err(StoreError::backend)?,
        started_ms: row.try_get("started_ms").map_err(StoreError::backend)?,
        ended_ms: row.try_get("ended_ms").map_err(StoreError::backend)?,
        end_reason: row.try_get("end_reason").map_err(StoreError::backend)?,
        message_count,
        participants: Vec::new(),
        uri,
    })
}
