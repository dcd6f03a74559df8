//! Backend-independent checks and normalisation of everything callers hand to the store.
//!
//! Every backend runs its input through here first, so SQLite and PostgreSQL accept and
//! store exactly the same values.

use crate::{ArchiveRecord, NewOfflineMessage, NewUser, StoreError, User};

/// Generous upper bound on a user part; real ones are short, this only stops abuse.
const MAX_USERNAME_LEN: usize = 256;
/// Longest DNS name (RFC 1035).
const MAX_DOMAIN_LEN: usize = 253;
/// Display names end up in SIP headers; keep them to a sane size.
const MAX_DISPLAY_NAME_LEN: usize = 256;
/// Prefix of conference focus URIs, which live in the same namespace as users.
const RESERVED_CONFERENCE_PREFIX: &str = "conf-";
const MD5_HEX_LEN: usize = 32;
const SHA256_HEX_LEN: usize = 64;

/// Checks a [`NewUser`] and turns it into the record to insert: domain and HA1s lower-cased,
/// account enabled, created at `created_at`.
pub(crate) fn new_user_record(new: NewUser, created_at: i64) -> Result<User, StoreError> {
    check_username(&new.username)?;
    check_domain(&new.domain)?;
    if let Some(name) = &new.display_name {
        check_display_name(name)?;
    }
    let domain = new.domain.to_ascii_lowercase();
    Ok(User {
        aor: format!("{}@{}", new.username, domain),
        username: new.username,
        domain,
        display_name: new.display_name,
        ha1_md5: ha1_hex("ha1_md5", &new.ha1_md5, MD5_HEX_LEN)?,
        ha1_sha256: ha1_hex("ha1_sha256", &new.ha1_sha256, SHA256_HEX_LEN)?,
        enabled: true,
        created_at,
        archiving: None,
    })
}

/// Checks and lower-cases a pair of HA1 values for a password change.
pub(crate) fn ha1_pair(ha1_md5: &str, ha1_sha256: &str) -> Result<(String, String), StoreError> {
    Ok((
        ha1_hex("ha1_md5", ha1_md5, MD5_HEX_LEN)?,
        ha1_hex("ha1_sha256", ha1_sha256, SHA256_HEX_LEN)?,
    ))
}

/// Canonical key for an AOR given by a caller: the domain part is lower-cased so lookups
/// ignore its case, the user part is kept as is (SIP user parts are case-sensitive).
pub(crate) fn canonical_aor(aor: &str) -> Result<String, StoreError> {
    let Some((user, domain)) = aor.split_once('@') else {
        return Err(StoreError::Invalid(format!("address {aor:?} has no '@'")));
    };
    if user.is_empty() || domain.is_empty() || domain.contains('@') {
        return Err(StoreError::Invalid(format!(
            "address {aor:?} is not of the form user@domain"
        )));
    }
    Ok(format!("{user}@{}", domain.to_ascii_lowercase()))
}

/// Checks a message to queue: both AORs canonical, header values safe to copy back into a
/// request, and an expiry after arrival (anything else would be expired on arrival).
pub(crate) fn offline_message(new: NewOfflineMessage) -> Result<NewOfflineMessage, StoreError> {
    check_header_value("From header", &new.from_header)?;
    check_header_value("content type", &new.content_type)?;
    check_header_value("Date header", &new.date)?;
    check_header_value("Call-ID", &new.call_id)?;
    if new.expires_at_ms <= new.received_at_ms {
        return Err(StoreError::Invalid(format!(
            "offline message expires ({}) no later than it arrived ({})",
            new.expires_at_ms, new.received_at_ms
        )));
    }
    Ok(NewOfflineMessage {
        recipient: canonical_aor(&new.recipient)?,
        sender: canonical_aor(&new.sender)?,
        ..new
    })
}

/// Checks an archive record: both AORs canonical (so queries by AOR find it) and header
/// values free of line breaks (exports put them in CSV and JSON lines).
pub(crate) fn archive_record(rec: ArchiveRecord) -> Result<ArchiveRecord, StoreError> {
    check_header_value("Call-ID", &rec.call_id)?;
    check_header_value("content type", &rec.content_type)?;
    Ok(ArchiveRecord {
        sender: canonical_aor(&rec.sender)?,
        recipient: canonical_aor(&rec.recipient)?,
        ..rec
    })
}

/// Stored header values are written back into SIP requests, where a CR or LF would let them
/// inject headers; tabs are ordinary header whitespace.
fn check_header_value(field: &str, value: &str) -> Result<(), StoreError> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(StoreError::Invalid(format!(
            "{field} {value:?} contains control characters"
        )));
    }
    Ok(())
}

/// User parts are limited to the characters RFC 3261 allows unescaped in a SIP URI user part,
/// minus `+` (reserved by Herald) and `%` escapes (so each account has exactly one spelling).
fn check_username(username: &str) -> Result<(), StoreError> {
    let invalid = |why: &str| Err(StoreError::Invalid(format!("username {username:?} {why}")));
    if username.is_empty() {
        return invalid("is empty");
    }
    if username.len() > MAX_USERNAME_LEN {
        return invalid("is too long");
    }
    if username.contains('@') {
        return invalid("contains '@'");
    }
    if username.contains('+') {
        return invalid("contains '+', which is reserved");
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return invalid("contains whitespace or control characters");
    }
    if username
        .get(..RESERVED_CONFERENCE_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(RESERVED_CONFERENCE_PREFIX))
    {
        return invalid("starts with the reserved prefix 'conf-'");
    }
    if let Some(bad) = username.chars().find(|&c| !is_user_part_char(c)) {
        return invalid(&format!(
            "contains {bad:?}, which is not allowed in a SIP user part"
        ));
    }
    Ok(())
}

/// RFC 3261 `unreserved` and `user-unreserved`, without `+`.
fn is_user_part_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '_'
                | '.'
                | '!'
                | '~'
                | '*'
                | '\''
                | '('
                | ')'
                | '&'
                | '='
                | '$'
                | ','
                | ';'
                | '?'
                | '/'
        )
}

/// Domains are DNS host names: dot-separated labels of letters, digits and hyphens.
fn check_domain(domain: &str) -> Result<(), StoreError> {
    let invalid = |why: &str| Err(StoreError::Invalid(format!("domain {domain:?} {why}")));
    if domain.is_empty() {
        return invalid("is empty");
    }
    if domain.len() > MAX_DOMAIN_LEN {
        return invalid("is too long");
    }
    if domain.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("contains whitespace or control characters");
    }
    if let Some(bad) = domain
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return invalid(&format!(
            "contains {bad:?}, which is not allowed in a host name"
        ));
    }
    if domain.split('.').any(str::is_empty) {
        return invalid("has an empty label");
    }
    Ok(())
}

/// Display names are copied into SIP headers, where control characters (CR, LF) would break framing.
fn check_display_name(name: &str) -> Result<(), StoreError> {
    if name.len() > MAX_DISPLAY_NAME_LEN {
        return Err(StoreError::Invalid(format!(
            "display name {name:?} is too long"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "display name {name:?} contains control characters"
        )));
    }
    Ok(())
}

/// HA1 values are compared as lower-case hex by digest code (RFC 7616), so store them that way.
fn ha1_hex(field: &str, value: &str, expected_len: usize) -> Result<String, StoreError> {
    if value.len() != expected_len || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid(format!(
            "{field} must be {expected_len} hex digits"
        )));
    }
    Ok(value.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_user(username: &str, domain: &str) -> NewUser {
        NewUser {
            username: username.to_owned(),
            domain: domain.to_owned(),
            display_name: None,
            ha1_md5: "0123456789ABCDEF0123456789abcdef".to_owned(),
            ha1_sha256: "ab".repeat(32),
        }
    }

    fn is_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Invalid(_)))
    }

    #[test]
    fn normalises_domain_and_ha1_case() {
        let user = new_user_record(new_user("Alice", "Example.COM"), 42).unwrap();
        assert_eq!(user.aor, "Alice@example.com");
        assert_eq!(user.username, "Alice");
        assert_eq!(user.domain, "example.com");
        assert_eq!(user.ha1_md5, "0123456789abcdef0123456789abcdef");
        assert!(user.enabled);
        assert_eq!(user.created_at, 42);
    }

    #[test]
    fn accepts_ordinary_user_parts() {
        for name in [
            "alice",
            "alice.smith",
            "a_b-c",
            "o'brien",
            "x1",
            "conf",
            "myconf-1",
        ] {
            assert!(
                new_user_record(new_user(name, "example.com"), 0).is_ok(),
                "{name} should be accepted"
            );
        }
    }

    #[test]
    fn rejects_bad_user_parts() {
        for name in [
            "",
            "a@b",
            "a+b",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{0}b",
            "conf-1",
            "CONF-room",
            "a:b",
            "a<b",
            "a%41",
            "jürgen",
            &"x".repeat(257),
        ] {
            assert!(
                is_invalid(new_user_record(new_user(name, "example.com"), 0)),
                "{name:?} should be rejected"
            );
        }
    }

    #[test]
    fn rejects_bad_domains() {
        for domain in [
            "",
            "exa mple.com",
            "a@b",
            "example..com",
            ".example.com",
            "ex_ample.com",
            "exa\rmple",
        ] {
            assert!(
                is_invalid(new_user_record(new_user("alice", domain), 0)),
                "{domain:?} should be rejected"
            );
        }
    }

    #[test]
    fn rejects_bad_ha1_values() {
        let mut user = new_user("alice", "example.com");
        user.ha1_md5 = "abc".to_owned();
        assert!(is_invalid(new_user_record(user, 0)));

        let mut user = new_user("alice", "example.com");
        user.ha1_sha256 = "zz".repeat(32);
        assert!(is_invalid(new_user_record(user, 0)));

        assert!(is_invalid(ha1_pair(&"a".repeat(64), &"a".repeat(64))));
    }

    #[test]
    fn rejects_display_names_with_control_characters() {
        let mut user = new_user("alice", "example.com");
        user.display_name = Some("Alice\r\nVia: evil".to_owned());
        assert!(is_invalid(new_user_record(user, 0)));
    }

    #[test]
    fn canonical_aor_lowercases_only_the_domain() {
        assert_eq!(canonical_aor("Bob@EXAMPLE.com").unwrap(), "Bob@example.com");
        assert!(is_invalid(canonical_aor("bob")));
        assert!(is_invalid(canonical_aor("@example.com")));
        assert!(is_invalid(canonical_aor("bob@")));
        assert!(is_invalid(canonical_aor("bob@a@b")));
    }

    fn offline(recipient: &str, sender: &str) -> NewOfflineMessage {
        NewOfflineMessage {
            recipient: recipient.to_owned(),
            sender: sender.to_owned(),
            from_header: "\"Bob\" <sip:bob@example.com>".to_owned(),
            content_type: "text/plain;charset=UTF-8".to_owned(),
            body: b"hi".to_vec(),
            date: "Sat, 21 Nov 2026 12:00:00 GMT".to_owned(),
            call_id: "abc@host".to_owned(),
            received_at_ms: 1_000,
            expires_at_ms: 2_000,
        }
    }

    #[test]
    fn offline_message_aors_are_canonical() {
        let m = offline_message(offline("Alice@Example.COM", "bob@EXAMPLE.com")).unwrap();
        assert_eq!(m.recipient, "Alice@example.com");
        assert_eq!(m.sender, "bob@example.com");
        assert!(is_invalid(offline_message(offline("alice", "bob@x"))));
        assert!(is_invalid(offline_message(offline("alice@x", "@x"))));
    }

    #[test]
    fn offline_message_rejects_header_injection_and_dead_on_arrival() {
        let mut m = offline("alice@x", "bob@x");
        m.from_header = "<sip:bob@x>\r\nVia: evil".to_owned();
        assert!(is_invalid(offline_message(m)));
        let mut m = offline("alice@x", "bob@x");
        m.call_id = "a\nb".to_owned();
        assert!(is_invalid(offline_message(m)));
        let mut m = offline("alice@x", "bob@x");
        m.content_type = "text/plain\u{0}".to_owned();
        assert!(is_invalid(offline_message(m)));
        let mut m = offline("alice@x", "bob@x");
        m.date = "Sat,\t21 Nov 2026 12:00:00 GMT".to_owned();
        assert!(offline_message(m).is_ok(), "a tab is header whitespace");
        let mut m = offline("alice@x", "bob@x");
        m.expires_at_ms = m.received_at_ms;
        assert!(is_invalid(offline_message(m)));
    }

    #[test]
    fn archive_record_is_canonical_and_single_line() {
        let rec = ArchiveRecord {
            at_ms: 5,
            sender: "bob@EXAMPLE.com".to_owned(),
            recipient: "Alice@Example.com".to_owned(),
            call_id: "c1".to_owned(),
            mode: crate::ImMode::Session,
            content_type: "text/plain".to_owned(),
            body: vec![0xff, 0x00],
        };
        let stored = archive_record(rec.clone()).unwrap();
        assert_eq!(stored.sender, "bob@example.com");
        assert_eq!(stored.recipient, "Alice@example.com");
        assert_eq!(stored.body, vec![0xff, 0x00], "bodies are kept as bytes");
        let mut bad = rec.clone();
        bad.call_id = "c1\r\n".to_owned();
        assert!(is_invalid(archive_record(bad)));
        let mut bad = rec;
        bad.recipient = "nobody".to_owned();
        assert!(is_invalid(archive_record(bad)));
    }
}
