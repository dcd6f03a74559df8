//! `herald backup` and `herald restore`.
//!
//! A backup is taken by the CLI process itself, on the database file: a connection of its
//! own reads a consistent snapshot (SQLite WAL) while a server keeps writing, so it works
//! the same whether a server runs or not and costs the server nothing but disk reads.
//!
//! A restore goes through the running server when there is one (the admin socket): only
//! the server can swap its store safely, holding the store's users back for the moment of
//! the swap and reloading what it keeps in memory. Without a server the CLI replaces the
//! file itself.
use crate::admin::{self, AdminCommand};
use anyhow::{Context, Result, anyhow, bail};
use herald_server::Server;
use herald_store::{Restored, SqliteStore, Store, StoreSummary};
use std::path::{Path, PathBuf};

/// The store's database file in a data directory.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("herald.db")
}

/// `herald backup FILE [--force]`: what was written, for the operator.
pub async fn backup(data_dir: &Path, file: &Path, force: bool) -> Result<String> {
    let summary = SqliteStore::backup_file(&store_path(data_dir), file, force)
        .await
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("backing up {} to {}", data_dir.display(), file.display()))?;
    Ok(format!("wrote {}: {}", file.display(), describe(&summary)))
}

/// `herald restore FILE`: through the running server if there is one, else on the file.
pub async fn restore(data_dir: &Path, file: &Path) -> Result<String> {
    // The server resolves paths from its own working directory.
    let file =
        std::path::absolute(file).with_context(|| format!("resolving {}", file.display()))?;
    let cmd = AdminCommand::Restore { file: file.clone() };
    match admin::try_remote(data_dir, &cmd).await? {
        Some(reply) if reply.ok => Ok(reply.output),
        Some(reply) => bail!("{}", reply.output),
        None => {
            let db = store_path(data_dir);
            let restored = SqliteStore::restore_file(&db, &file)
                .await
                .map_err(|e| anyhow!("{e}"))
                .with_context(|| format!("restoring {}", file.display()))?;
            Ok(describe_restore(&file, &db, &restored, false))
        }
    }
}

/// What the server runs for [`AdminCommand::Restore`]: swaps `store` (the server's own)
/// for a copy of `file`, then has `server` reload what it keeps from the store.
pub async fn restore_live(store: &SqliteStore, server: &Server, file: &Path) -> Result<String> {
    let before: Vec<String> = store
        .list_users()
        .await
        .map_err(admin::store_err)?
        .into_iter()
        .map(|u| u.aor)
        .collect();
    let restored = store
        .restore_from(file)
        .await
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("restoring {}", file.display()))?;
    tracing::warn!(file = %file.display(), users = restored.summary.users, "store restored from a backup");
    server
        .store_replaced(before)
        .await
        .context("reloading the server's state after the restore")?;
    let db = store.path().unwrap_or(file);
    Ok(describe_restore(file, db, &restored, true))
}

fn describe_restore(file: &Path, db: &Path, restored: &Restored, live: bool) -> String {
    let mut out = format!(
        "restored {} into {}{}: {}",
        file.display(),
        db.display(),
        if live { " (server running)" } else { "" },
        describe(&restored.summary)
    );
    if let Some(previous) = &restored.previous {
        out.push_str(&format!(
            "\nthe replaced store is kept as {}",
            previous.display()
        ));
    }
    out
}

/// One line on what a store file holds.
pub fn describe(s: &StoreSummary) -> String {
    let schema = if s.schema.version < s.schema.latest {
        format!(
            "schema version {} (brought up to {} when opened)",
            s.schema.version, s.schema.latest
        )
    } else {
        format!("schema version {}", s.schema.version)
    };
    format!(
        "{} bytes, {schema}: {} users, {} offline messages, {} archived messages, {} contact entries, {} conference records",
        s.bytes, s.users, s.offline_messages, s.archived_messages, s.contacts, s.conferences
    )
}
