//! Helpers shared by the integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use herald_store::NewUser;

/// A valid new user whose HA1 values are derived from `seed`, so different seeds give
/// different (but well-formed) credentials.
pub fn new_user(username: &str, domain: &str, seed: u64) -> NewUser {
    NewUser {
        username: username.to_owned(),
        domain: domain.to_owned(),
        display_name: Some(format!("User {username}")),
        ha1_md5: format!("{seed:032x}"),
        ha1_sha256: format!("{seed:064x}"),
    }
}

/// `count` distinct valid users `user{i}@example.com`.
pub fn numbered_users(count: u64) -> Vec<NewUser> {
    (0..count)
        .map(|i| new_user(&format!("user{i}"), "example.com", i))
        .collect()
}
