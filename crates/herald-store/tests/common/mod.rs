//! Helpers shared by the integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use herald_store::{ArchiveRecord, ImMode, NewContact, NewOfflineMessage, NewUser};

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

/// A well-formed queued message from `sender` to `recipient` whose body and Call-ID carry `n`,
/// received at `received_at_ms` and expiring at `expires_at_ms`.
pub fn offline_message(
    recipient: &str,
    sender: &str,
    n: u32,
    received_at_ms: i64,
    expires_at_ms: i64,
) -> NewOfflineMessage {
    NewOfflineMessage {
        recipient: recipient.to_owned(),
        sender: sender.to_owned(),
        from_header: format!("\"Sender\" <sip:{sender}>"),
        content_type: "text/plain;charset=UTF-8".to_owned(),
        body: format!("message {n}").into_bytes(),
        date: "Sat, 21 Nov 2026 12:00:00 GMT".to_owned(),
        call_id: format!("call-{n}@client"),
        received_at_ms,
        expires_at_ms,
    }
}

/// An archive record of a text message `body` from `sender` to `recipient` at `at_ms`.
pub fn archive_record(at_ms: i64, sender: &str, recipient: &str, body: &str) -> ArchiveRecord {
    ArchiveRecord {
        at_ms,
        sender: sender.to_owned(),
        recipient: recipient.to_owned(),
        call_id: format!("call-{at_ms}@client"),
        mode: ImMode::Pager,
        content_type: "text/plain".to_owned(),
        body: body.as_bytes().to_vec(),
    }
}

/// A contact to add: `contact` with display name `name` in `groups`.
pub fn contact(contact: &str, name: Option<&str>, groups: &[&str]) -> NewContact {
    NewContact {
        contact: contact.to_owned(),
        display_name: name.map(str::to_owned),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}
