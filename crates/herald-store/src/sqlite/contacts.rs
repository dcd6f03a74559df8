//! Contact lists in SQLite: one row per (owner, contact), one per (entry, group).

use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};

use super::users;
use crate::validate::{canonical_aor, check_group_count, contact_change, presence_aor};
use crate::{ContactEntry, NewContact, StoreError};

pub(super) async fn add(
    pool: &SqlitePool,
    owner: &str,
    new: NewContact,
    max_contacts: u32,
) -> Result<ContactEntry, StoreError> {
    let owner = canonical_aor(owner)?;
    let change = contact_change(&owner, new)?;
    // IMMEDIATE takes the write lock before counting, so two adds for one owner cannot both
    // see room for one more contact.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::backend)?;
    users::require(&mut *tx, &owner).await?;
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM contacts WHERE owner = $1 AND contact = $2")
            .bind(&owner)
            .bind(&change.contact)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
    let id = match existing {
        Some(id) => {
            if let Some(display_name) = &change.display_name {
                sqlx::query("UPDATE contacts SET display_name = $1 WHERE id = $2")
                    .bind(display_name.as_deref())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::backend)?;
            }
            id
        }
        None => {
            let listed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE owner = $1")
                .bind(&owner)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::backend)?;
            if listed >= i64::from(max_contacts) {
                return Err(StoreError::LimitReached {
                    recipient: owner,
                    limit: max_contacts,
                });
            }
            sqlx::query_scalar(
                "INSERT INTO contacts (owner, contact, display_name) VALUES ($1, $2, $3) \
                 RETURNING id",
            )
            .bind(&owner)
            .bind(&change.contact)
            .bind(change.display_name.clone().flatten())
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::backend)?
        }
    };
    if !change.groups.is_empty() {
        // Groups already stored stay: adding merges.
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO contact_groups (contact_id, group_name) ");
        insert.push_values(&change.groups, |mut row, group| {
            row.push_bind(id).push_bind(group.as_str());
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
    }
    let entry = entry_by_id(&mut tx, id, change.contact).await?;
    // The merge may have passed the per-contact bound; returning drops (rolls back) `tx`.
    check_group_count(entry.groups.len())?;
    tx.commit().await.map_err(StoreError::backend)?;
    Ok(entry)
}

pub(super) async fn remove(
    pool: &SqlitePool,
    owner: &str,
    contact: &str,
) -> Result<(), StoreError> {
    let owner = canonical_aor(owner)?;
    let contact = presence_aor(contact)?;
    // The entry's groups go with it (ON DELETE CASCADE).
    let deleted = sqlx::query("DELETE FROM contacts WHERE owner = $1 AND contact = $2")
        .bind(&owner)
        .bind(&contact)
        .execute(pool)
        .await
        .map_err(StoreError::backend)?;
    if deleted.rows_affected() == 0 {
        users::require(pool, &owner).await?;
        return Err(StoreError::NotFound(contact));
    }
    Ok(())
}

pub(super) async fn list(pool: &SqlitePool, owner: &str) -> Result<Vec<ContactEntry>, StoreError> {
    let owner = canonical_aor(owner)?;
    // One row per (entry, group), entries in the order first added, groups sorted.
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT c.id, c.contact, c.display_name, g.group_name FROM contacts c \
         LEFT JOIN contact_groups g ON g.contact_id = c.id \
         WHERE c.owner = $1 ORDER BY c.id, g.group_name",
    )
    .bind(&owner)
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    if rows.is_empty() {
        users::require(pool, &owner).await?;
    }
    let mut entries: Vec<ContactEntry> = Vec::new();
    let mut last_id = None;
    for (id, contact, display_name, group) in rows {
        if last_id != Some(id) {
            last_id = Some(id);
            entries.push(ContactEntry {
                contact,
                display_name,
                groups: Vec::new(),
            });
        }
        if let (Some(entry), Some(group)) = (entries.last_mut(), group) {
            entry.groups.push(group);
        }
    }
    Ok(entries)
}

/// Reads back the entry with `id` inside the transaction that wrote it.
async fn entry_by_id(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    id: i64,
    contact: String,
) -> Result<ContactEntry, StoreError> {
    let display_name: Option<String> =
        sqlx::query_scalar("SELECT display_name FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await
            .map_err(StoreError::backend)?;
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT group_name FROM contact_groups WHERE contact_id = $1 ORDER BY group_name",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await
    .map_err(StoreError::backend)?;
    Ok(ContactEntry {
        contact,
        display_name,
        groups,
    })
}
