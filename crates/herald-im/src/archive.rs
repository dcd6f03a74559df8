//! Archiving policy: off by default (like the product Herald replaces), on for
//! everybody by configuration, and per user by an override in the store. Every IM to
//! or from an archived user is written before it is carried; in critical mode an IM
//! that cannot be archived is not carried at all.
use crate::clock::now_ms;
use herald_store::{ArchiveRecord, ImMode, SharedStore};
use parking_lot::RwLock;
use std::collections::HashMap;

/// Why an IM may not be carried.
#[derive(Debug)]
pub struct ArchiveUnavailable;

pub struct Archiver {
    store: SharedStore,
    global: bool,
    critical: bool,
    /// Users whose setting differs from the global one may be few; all are kept here
    /// so no message waits on the store to learn the policy.
    overrides: RwLock<HashMap<String, bool>>,
}

/// One IM as the archive sees it.
pub struct ImRecord<'a> {
    pub sender: &'a str,
    pub recipient: &'a str,
    pub call_id: &'a str,
    pub mode: ImMode,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

impl Archiver {
    pub fn new(store: SharedStore, global: bool, critical: bool) -> Self {
        Archiver {
            store,
            global,
            critical,
            overrides: RwLock::new(HashMap::new()),
        }
    }

    /// Reads every per-user override from the store (at start-up).
    pub async fn load(&self) -> Result<usize, herald_store::StoreError> {
        let all = self.store.archiving_overrides().await?;
        let n = all.len();
        *self.overrides.write() = all.into_iter().collect();
        Ok(n)
    }

    /// Re-reads one user's override after an administrator changed the user.
    pub async fn reload_user(&self, aor: &str) {
        match self.store.get_user(aor).await {
            Ok(Some(user)) => match user.archiving {
                Some(on) => {
                    self.overrides.write().insert(aor.to_owned(), on);
                }
                None => {
                    self.overrides.write().remove(aor);
                }
            },
            Ok(None) => {
                self.overrides.write().remove(aor);
            }
            Err(e) => tracing::warn!(%aor, error = %e, "cannot re-read the archiving setting"),
        }
    }

    /// Whether `aor`'s IM is archived.
    pub fn applies_to(&self, aor: &str) -> bool {
        self.overrides
            .read()
            .get(aor)
            .copied()
            .unwrap_or(self.global)
    }

    /// Writes `im` if the sender or the recipient is archived. An error means the IM
    /// must not be carried (critical mode); otherwise failures are only logged.
    pub async fn record(&self, im: ImRecord<'_>) -> Result<(), ArchiveUnavailable> {
        if !self.applies_to(im.sender) && !self.applies_to(im.recipient) {
            return Ok(());
        }
        self.write(im).await
    }

    /// Writes `im` whoever sent it: the caller decided it is archived (a conference
    /// with an archived participant archives every message). Errors as for
    /// [`Archiver::record`].
    pub async fn write(&self, im: ImRecord<'_>) -> Result<(), ArchiveUnavailable> {
        let rec = ArchiveRecord {
            at_ms: now_ms(),
            sender: im.sender.to_owned(),
            recipient: im.recipient.to_owned(),
            call_id: im.call_id.to_owned(),
            mode: im.mode,
            content_type: im.content_type.to_owned(),
            body: im.body.to_vec(),
        };
        match self.store.archive(rec).await {
            Ok(()) => Ok(()),
            Err(e) if self.critical => {
                tracing::error!(error = %e, "archive write failed: IM refused (critical mode)");
                Err(ArchiveUnavailable)
            }
            Err(e) => {
                tracing::error!(error = %e, "archive write failed: IM carried unarchived");
                Ok(())
            }
        }
    }
}
