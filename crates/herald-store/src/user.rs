//! The user directory records: what callers pass in and what the store gives back.

/// A stored user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Address of record, `username@domain` with the domain lower-cased (`"alice@example.com"`).
    pub aor: String,
    /// The user part of the AOR, case preserved (`"alice"`).
    pub username: String,
    /// The lower-cased domain (realm) the user belongs to.
    pub domain: String,
    /// Human-readable name, if any.
    pub display_name: Option<String>,
    /// Lower-case hex of MD5(`username:realm:password`).
    pub ha1_md5: String,
    /// Lower-case hex of SHA-256(`username:realm:password`).
    pub ha1_sha256: String,
    /// Disabled users stay in the directory but must not be allowed to authenticate.
    pub enabled: bool,
    /// When the user was created, in unix seconds.
    pub created_at: i64,
    /// Archiving override for IMs to and from this user: `None` follows the server-wide setting.
    pub archiving: Option<bool>,
}

/// A user to create. The store validates and normalises it (see [`Store::add_user`](crate::Store::add_user)).
#[derive(Clone, Debug)]
pub struct NewUser {
    /// User part of the AOR; must not contain `@`, `+`, whitespace or control characters, nor start with `conf-`.
    pub username: String,
    /// Domain (realm); lower-cased on insert.
    pub domain: String,
    /// Human-readable name, if any.
    pub display_name: Option<String>,
    /// Hex of MD5(`username:realm:password`), computed by the caller.
    pub ha1_md5: String,
    /// Hex of SHA-256(`username:realm:password`), computed by the caller.
    pub ha1_sha256: String,
}
