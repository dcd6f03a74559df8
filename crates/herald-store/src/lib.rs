//! Durable storage for Herald.
//!
//! All durable data goes through one [`Store`] trait so the server does not care which
//! database sits behind it. [`SqliteStore`] (embedded) is the default backend; a PostgreSQL
//! backend can implement the same trait with the same schema and queries (sqlx covers both).
//!
//! Today the store holds the user directory. Passwords are never stored: callers pass the
//! digest HA1 values (MD5 and SHA-256, hex) computed for the user's realm.
//!
//! Layout: backend-independent types and rules live at the crate root (`user`, `validate`,
//! `error`); each backend has its own module with one file per kind of data (`sqlite/users.rs`,
//! later `sqlite/contacts.rs`, ...) and its own migrations under `migrations/<backend>/`.

mod clock;
mod error;
mod sqlite;
mod user;
mod validate;

pub use error::StoreError;
pub use sqlite::SqliteStore;
pub use user::{NewUser, User};

/// A store shared by every part of the server.
pub type SharedStore = std::sync::Arc<dyn Store>;

/// The one interface to durable data.
///
/// AOR arguments are `user@domain` (no `sip:` scheme); the domain part is matched
/// case-insensitively, the user part exactly.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an enabled user after validating it (see [`NewUser`]); the domain and HA1
    /// values are lower-cased. Fails with [`StoreError::AlreadyExists`] if the AOR is taken.
    async fn add_user(&self, u: NewUser) -> Result<User, StoreError>;

    /// Bulk insert in one transaction; fails as a whole on a duplicate (AlreadyExists naming it),
    /// whether the duplicate is already stored or appears twice in `users`. Returns how many
    /// users were inserted.
    async fn import_users(&self, users: Vec<NewUser>) -> Result<usize, StoreError>;

    /// Looks a user up by AOR.
    async fn get_user(&self, aor: &str) -> Result<Option<User>, StoreError>;

    /// Every user, ordered by AOR.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// Deletes a user; [`StoreError::NotFound`] if absent.
    async fn remove_user(&self, aor: &str) -> Result<(), StoreError>;

    /// Replaces a user's HA1 values (hex, any case); [`StoreError::NotFound`] if absent.
    async fn set_password(
        &self,
        aor: &str,
        ha1_md5: &str,
        ha1_sha256: &str,
    ) -> Result<(), StoreError>;

    /// Enables or disables a user; [`StoreError::NotFound`] if absent.
    async fn set_enabled(&self, aor: &str, enabled: bool) -> Result<(), StoreError>;

    /// How many users are stored.
    async fn user_count(&self) -> Result<u64, StoreError>;
}
