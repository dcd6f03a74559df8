//! The single error type every [`Store`](crate::Store) method returns.

/// Why a store operation failed.
///
/// Backend details are carried as text so that callers never depend on the
/// database driver's own error types.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with this key (an AOR for users) is already stored.
    #[error("user {0} already exists")]
    AlreadyExists(String),
    /// No record with this key is stored: a user (by AOR), or for
    /// [`Store::remove_contact`](crate::Store::remove_contact) a contact not on the list.
    #[error("no such user {0}")]
    NotFound(String),
    /// No conference with this address was recorded as started.
    #[error("no such conference {0}")]
    NoSuchConference(String),
    /// A conference with this address was already recorded as started.
    #[error("conference {0} already exists")]
    ConferenceExists(String),
    /// The caller passed a value the store refuses (reserved or malformed name, bad HA1, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A per-user limit was reached: the recipient's offline queue already holds the most
    /// messages allowed, or the owner's contact list the most contacts.
    #[error("limit of {limit} reached for {recipient}")]
    LimitReached {
        /// The AOR of the user at the limit (the recipient, or the contact list's owner).
        recipient: String,
        /// The per-user limit that was reached.
        limit: u32,
    },
    /// The database itself failed (I/O, corruption, lock timeout, migration failure, ...).
    #[error("storage error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Wraps a driver or migration failure; keeps only its message so the driver stays private.
    pub(crate) fn backend(err: impl std::fmt::Display) -> Self {
        StoreError::Backend(err.to_string())
    }
}
