//! Backend-independent checks and normalisation of everything callers hand to the store.
//!
//! Every backend runs its input through here first, so SQLite and PostgreSQL accept and
//! store exactly the same values.

use crate::{
    ACCESS_LEVELS, AccessSubject, ArchiveRecord, MAX_CONTACTS_CEILING, NewContact,
    NewOfflineMessage, NewUser, PolicyLimits, StoreError, User,
};

/// Generous upper bound on a user part; real ones are short, this only stops abuse.
const MAX_USERNAME_LEN: usize = 256;
/// Longest DNS name (RFC 1035).
const MAX_DOMAIN_LEN: usize = 253;
/// Display names end up in SIP headers; keep them to a sane size.
const MAX_DISPLAY_NAME_LEN: usize = 256;
/// Prefix of conference focus URIs, which live in the same namespace as users.
const RESERVED_CONFERENCE_PREFIX: &str = "conf-";
/// Longest reason a conference ended for, in characters (it is a short phrase).
const MAX_END_REASON_CHARS: usize = 256;
const MD5_HEX_LEN: usize = 32;
/// Longest contact group name, in characters.
const MAX_GROUP_NAME_CHARS: usize = 64;
/// Most groups one contact may be filed under: clients edit their own lists, and this bounds
/// what one entry can make the server store.
pub(crate) const MAX_GROUPS_PER_CONTACT: usize = 64;
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

/// Checks an archive record: both AORs canonical, without a `sip:`/`sips:` scheme (so
/// queries by AOR find it; a conference's address is often at hand as a URI) and header
/// values free of line breaks (exports put them in CSV and JSON lines).
pub(crate) fn archive_record(rec: ArchiveRecord) -> Result<ArchiveRecord, StoreError> {
    check_header_value("Call-ID", &rec.call_id)?;
    check_header_value("content type", &rec.content_type)?;
    Ok(ArchiveRecord {
        sender: canonical_aor(without_sip_scheme(&rec.sender))?,
        recipient: canonical_aor(without_sip_scheme(&rec.recipient))?,
        ..rec
    })
}

/// A checked [`NewContact`]: what adding it writes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ContactChange {
    /// The contact's canonical AOR.
    pub contact: String,
    /// `None`: keep the stored name; `Some(None)`: clear it; `Some(Some(name))`: set it.
    pub display_name: Option<Option<String>>,
    /// Trimmed, sorted, without repeats.
    pub groups: Vec<String>,
}

/// Checks a contact that `owner` (a canonical AOR) adds to their list.
pub(crate) fn contact_change(owner: &str, new: NewContact) -> Result<ContactChange, StoreError> {
    let contact = presence_aor(&new.contact)?;
    if contact == owner {
        return Err(StoreError::Invalid(format!(
            "{owner} cannot be on their own contact list"
        )));
    }
    let display_name = match new.display_name {
        None => None,
        Some(name) if name.trim().is_empty() => Some(None),
        Some(name) => {
            check_display_name(&name)?;
            Some(Some(name))
        }
    };
    Ok(ContactChange {
        contact,
        display_name,
        groups: group_names(new.groups)?,
    })
}

/// Trims, checks, sorts and de-duplicates contact group names.
pub(crate) fn group_names(groups: Vec<String>) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::with_capacity(groups.len());
    for group in groups {
        let name = group.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_GROUP_NAME_CHARS {
            return Err(StoreError::Invalid(format!(
                "group name {group:?} must be 1 to {MAX_GROUP_NAME_CHARS} characters"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!(
                "group name {group:?} contains control characters"
            )));
        }
        names.push(name.to_owned());
    }
    names.sort();
    names.dedup();
    check_group_count(names.len())?;
    Ok(names)
}

/// A contact may be filed under at most [`MAX_GROUPS_PER_CONTACT`] groups.
pub(crate) fn check_group_count(count: usize) -> Result<(), StoreError> {
    if count > MAX_GROUPS_PER_CONTACT {
        return Err(StoreError::Invalid(format!(
            "a contact can be in at most {MAX_GROUPS_PER_CONTACT} groups"
        )));
    }
    Ok(())
}

/// Canonical AOR of someone presence data is about (a contact, an access rule's subject):
/// `sip:`/`sips:` dropped, surrounding blanks trimmed, the domain checked and lower-cased.
/// These need not be local users, so the user part may hold anything a SIP URI user part
/// can, `+` and `%` escapes included (unlike local user names).
pub(crate) fn presence_aor(address: &str) -> Result<String, StoreError> {
    let aor = without_sip_scheme(address.trim());
    canonical_aor(aor)?;
    let Some((user, domain)) = aor.split_once('@') else {
        return Err(StoreError::Invalid(format!("address {aor:?} has no '@'")));
    };
    if user.len() > MAX_USERNAME_LEN {
        return Err(StoreError::Invalid(format!(
            "address {address:?} has too long a user part"
        )));
    }
    if let Some(bad) = user
        .chars()
        .find(|&c| !(is_user_part_char(c) || c == '+' || c == '%'))
    {
        return Err(StoreError::Invalid(format!(
            "address {address:?} contains {bad:?}, which is not allowed in a SIP user part"
        )));
    }
    Ok(format!("{user}@{}", domain_name(domain)?))
}

/// A domain as a rule subject: a checked, lower-cased host name.
pub(crate) fn domain_name(domain: &str) -> Result<String, StoreError> {
    check_domain(domain)?;
    Ok(domain.to_ascii_lowercase())
}

/// `address` without a leading `sip:` or `sips:` (in any case).
fn without_sip_scheme(address: &str) -> &str {
    ["sip:", "sips:"]
        .into_iter()
        .find_map(|scheme| {
            let (prefix, rest) = address.split_at_checked(scheme.len())?;
            prefix.eq_ignore_ascii_case(scheme).then_some(rest)
        })
        .unwrap_or(address)
}

/// An access rule's subject as given, checked again (the enum's fields are public) and in
/// canonical form; a [`AccessSubject::User`] must hold an AOR, a
/// [`AccessSubject::Domain`] a domain.
pub(crate) fn access_subject(subject: &AccessSubject) -> Result<AccessSubject, StoreError> {
    let parsed = AccessSubject::parse(subject.as_str())?;
    match (subject, &parsed) {
        (AccessSubject::User(_), AccessSubject::User(_))
        | (AccessSubject::Domain(_), AccessSubject::Domain(_)) => Ok(parsed),
        _ => Err(StoreError::Invalid(format!(
            "access subject {subject:?} is not of its kind"
        ))),
    }
}

/// The stored spelling of an access level (any case accepted), one of [`ACCESS_LEVELS`].
pub(crate) fn access_level(level: &str) -> Result<&'static str, StoreError> {
    ACCESS_LEVELS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(level.trim()))
        .copied()
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "unknown access level {level:?}: use one of {}",
                ACCESS_LEVELS.join(", ")
            ))
        })
}

/// Checks limits to store: each set limit at least 1, `max_contacts` at most
/// [`MAX_CONTACTS_CEILING`].
pub(crate) fn policy_limits(limits: PolicyLimits) -> Result<PolicyLimits, StoreError> {
    for (name, limit) in [
        ("max_contacts", limits.max_contacts),
        ("max_subscriptions", limits.max_subscriptions),
        ("max_prompted", limits.max_prompted),
    ] {
        if limit == Some(0) {
            return Err(StoreError::Invalid(format!("{name} must be at least 1")));
        }
    }
    if let Some(max) = limits.max_contacts
        && max > MAX_CONTACTS_CEILING
    {
        return Err(StoreError::Invalid(format!(
            "max_contacts {max} is above the ceiling of {MAX_CONTACTS_CEILING}"
        )));
    }
    Ok(limits)
}

/// The key of a conference: its address (`sip:` optional) as `conf-<id>@domain` with the
/// domain lower-cased. A user part without the `conf-` prefix is refused: it cannot be a
/// conference, and taking it would mix users and conferences up.
pub(crate) fn conference_uri(uri: &str) -> Result<String, StoreError> {
    let aor = presence_aor(uri)?;
    if !has_conference_prefix(&aor) {
        return Err(StoreError::Invalid(format!(
            "conference address {uri:?} does not begin with conf-"
        )));
    }
    Ok(aor)
}

/// Someone named in a conference record (its creator, a participant): an AOR, `sip:`
/// optional, need not be a local user.
pub(crate) fn conference_member(aor: &str) -> Result<String, StoreError> {
    presence_aor(aor)
}

/// Why a conference ended: a short single-line phrase, shown in listings.
pub(crate) fn end_reason(reason: &str) -> Result<&str, StoreError> {
    let chars = reason.chars().count();
    if reason.trim().is_empty() || chars > MAX_END_REASON_CHARS {
        return Err(StoreError::Invalid(format!(
            "end reason {reason:?} must be 1 to {MAX_END_REASON_CHARS} characters"
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "end reason {reason:?} contains control characters"
        )));
    }
    Ok(reason)
}

/// A message count as stored (a signed 64-bit column).
pub(crate) fn message_count(count: u64) -> Result<i64, StoreError> {
    i64::try_from(count)
        .map_err(|_| StoreError::Invalid(format!("message count {count} is too large")))
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
    if has_conference_prefix(username) {
        return Err(StoreError::Invalid(format!(
            "username {username:?}: user names beginning with conf- are reserved for \
             conference URIs"
        )));
    }
    if let Some(bad) = username.chars().find(|&c| !is_user_part_char(c)) {
        return invalid(&format!(
            "contains {bad:?}, which is not allowed in a SIP user part"
        ));
    }
    Ok(())
}

/// Whether a user part starts with `conf-` in any case: the conference focus's namespace.
fn has_conference_prefix(user: &str) -> bool {
    user.get(..RESERVED_CONFERENCE_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(RESERVED_CONFERENCE_PREFIX))
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
    fn conf_prefix_is_reserved_with_a_clear_reason() {
        for name in ["conf-1", "CONF-room", "cOnF-"] {
            let Err(StoreError::Invalid(why)) = new_user_record(new_user(name, "example.com"), 0)
            else {
                panic!("{name} should be refused");
            };
            assert_eq!(
                why,
                format!(
                    "username {name:?}: user names beginning with conf- are reserved for \
                     conference URIs"
                )
            );
        }
    }

    #[test]
    fn conference_uris_are_conf_addresses_in_canonical_form() {
        assert_eq!(
            conference_uri("sip:conf-AB12@Example.COM").unwrap(),
            "conf-AB12@example.com"
        );
        assert_eq!(
            conference_uri(" CONF-x@example.com ").unwrap(),
            "CONF-x@example.com"
        );
        for bad in [
            "alice@example.com",
            "conf@example.com",
            "xconf-1@example.com",
            "conf-1",
            "conf-1@",
            "conf-1@exa mple.com",
            "conf-<1>@example.com",
            "tel:conf-1@example.com",
        ] {
            assert!(is_invalid(conference_uri(bad)), "{bad:?} should be refused");
        }
        assert_eq!(
            conference_member("sip:Bob@EXAMPLE.com").unwrap(),
            "Bob@example.com"
        );
        assert!(is_invalid(conference_member("bob")));
    }

    #[test]
    fn end_reasons_are_short_single_lines_and_counts_fit_the_column() {
        assert_eq!(end_reason("server restart").unwrap(), "server restart");
        assert!(end_reason(&"é".repeat(MAX_END_REASON_CHARS)).is_ok());
        for bad in ["", " \t", "a\nb", &"r".repeat(MAX_END_REASON_CHARS + 1)] {
            assert!(is_invalid(end_reason(bad)), "{bad:?} should be refused");
        }
        assert_eq!(message_count(0).unwrap(), 0);
        assert_eq!(message_count(1 << 62).unwrap(), 1 << 62);
        assert!(is_invalid(message_count(u64::MAX)));
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
        let to_conference = ArchiveRecord {
            sender: "SIP:bob@example.com".to_owned(),
            recipient: "sip:conf-1@EXAMPLE.com".to_owned(),
            ..rec.clone()
        };
        let stored = archive_record(to_conference).unwrap();
        assert_eq!(
            (stored.sender.as_str(), stored.recipient.as_str()),
            ("bob@example.com", "conf-1@example.com"),
            "the scheme is dropped"
        );
        assert_eq!(stored.body, vec![0xff, 0x00], "bodies are kept as bytes");
        let mut bad = rec.clone();
        bad.call_id = "c1\r\n".to_owned();
        assert!(is_invalid(archive_record(bad)));
        let mut bad = rec;
        bad.recipient = "nobody".to_owned();
        assert!(is_invalid(archive_record(bad)));
    }

    #[test]
    fn presence_aor_drops_the_scheme_and_lowercases_the_domain() {
        assert_eq!(
            presence_aor(" sip:Bob@EXAMPLE.com ").unwrap(),
            "Bob@example.com"
        );
        assert_eq!(presence_aor("SIPS:bob@x.org").unwrap(), "bob@x.org");
        assert_eq!(
            presence_aor("+15551234%20@gw.example.com").unwrap(),
            "+15551234%20@gw.example.com",
            "remote user parts may hold + and escapes"
        );
        for bad in [
            "bob",
            "sip:bob",
            "@x.org",
            "bob@",
            "bob@a@b",
            "b ob@x.org",
            "bob@exa mple.com",
            "bob@x..org",
            "<bob>@x.org",
            "bob\r\n@x.org",
            "tel:bob@x.org",
        ] {
            assert!(is_invalid(presence_aor(bad)), "{bad:?} should be rejected");
        }
        assert!(is_invalid(presence_aor(&format!(
            "{}@x.org",
            "u".repeat(257)
        ))));
    }

    #[test]
    fn group_names_are_trimmed_sorted_and_deduplicated() {
        let groups = ["Team", " Friends ", "Team", "Ärzte", "friends"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            group_names(groups).unwrap(),
            ["Friends", "Team", "friends", "Ärzte"]
        );
        assert_eq!(group_names(vec![]).unwrap(), Vec::<String>::new());
        let longest = "é".repeat(MAX_GROUP_NAME_CHARS);
        assert_eq!(group_names(vec![longest.clone()]).unwrap(), [longest]);
        for bad in [
            "",
            "   ",
            "a\nb",
            "tab\there",
            &"g".repeat(MAX_GROUP_NAME_CHARS + 1),
        ] {
            assert!(
                is_invalid(group_names(vec![bad.to_owned()])),
                "{bad:?} should be rejected"
            );
        }
        let many: Vec<String> = (0..=MAX_GROUPS_PER_CONTACT)
            .map(|i| format!("g{i}"))
            .collect();
        assert!(is_invalid(group_names(many)));
    }

    #[test]
    fn contact_change_refuses_the_owner_and_reads_a_blank_name_as_clearing() {
        let new = |contact: &str, name: Option<&str>| NewContact {
            contact: contact.to_owned(),
            display_name: name.map(str::to_owned),
            groups: vec![],
        };
        let owner = "alice@example.com";
        let change = contact_change(owner, new("sip:Bob@Example.com", Some("Bob B."))).unwrap();
        assert_eq!(change.contact, "Bob@example.com");
        assert_eq!(change.display_name, Some(Some("Bob B.".to_owned())));
        let keep = contact_change(owner, new("bob@example.com", None)).unwrap();
        assert_eq!(keep.display_name, None);
        let clear = contact_change(owner, new("bob@example.com", Some("  "))).unwrap();
        assert_eq!(clear.display_name, Some(None));
        assert!(is_invalid(contact_change(
            owner,
            new("sip:alice@EXAMPLE.com", None)
        )));
        assert!(is_invalid(contact_change(
            owner,
            new("bob@example.com", Some("Bob\r\nVia: x"))
        )));
    }

    #[test]
    fn access_levels_are_the_known_names_in_any_case() {
        for level in ACCESS_LEVELS {
            assert_eq!(access_level(level).unwrap(), *level);
        }
        assert_eq!(access_level(" Friends ").unwrap(), "friends");
        let Err(StoreError::Invalid(why)) = access_level("family") else {
            panic!("family is not a level");
        };
        assert!(
            why.contains("public, colleagues, workgroup, friends, blocked"),
            "{why}"
        );
    }

    #[test]
    fn access_subject_must_hold_what_its_kind_says() {
        let user = AccessSubject::User("Bob@EXAMPLE.com".to_owned());
        assert_eq!(
            access_subject(&user).unwrap(),
            AccessSubject::User("Bob@example.com".to_owned())
        );
        let domain = AccessSubject::Domain("Example.COM".to_owned());
        assert_eq!(
            access_subject(&domain).unwrap(),
            AccessSubject::Domain("example.com".to_owned())
        );
        assert!(is_invalid(access_subject(&AccessSubject::User(
            "example.com".to_owned()
        ))));
        assert!(is_invalid(access_subject(&AccessSubject::Domain(
            "bob@example.com".to_owned()
        ))));
    }

    #[test]
    fn policy_limits_must_be_positive_and_contacts_under_the_ceiling() {
        let limits = |c, s, p| PolicyLimits {
            max_contacts: c,
            max_subscriptions: s,
            max_prompted: p,
            create_conferences: Some(false),
        };
        let ok = limits(Some(MAX_CONTACTS_CEILING), Some(u32::MAX), Some(1));
        assert_eq!(policy_limits(ok).unwrap(), ok);
        assert!(policy_limits(PolicyLimits::default()).is_ok());
        assert!(is_invalid(policy_limits(limits(
            Some(MAX_CONTACTS_CEILING + 1),
            None,
            None
        ))));
        assert!(is_invalid(policy_limits(limits(Some(0), None, None))));
        assert!(is_invalid(policy_limits(limits(None, Some(0), None))));
        assert!(is_invalid(policy_limits(limits(None, None, Some(0)))));
    }
}
