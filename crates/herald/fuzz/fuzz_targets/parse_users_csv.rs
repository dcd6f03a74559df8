//! Any bytes as a user import file (`herald user import`): `users::parse_csv` never
//! panics, and every user it accepts has a non-empty user part without `@`, a
//! lower-case domain, hex HA1 values of the right length and no blank display name.
#![no_main]
use herald::users::parse_csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(users) = parse_csv(data, "fuzz.csv") else {
        return;
    };
    // One user per record at most, and a record ends with a line.
    assert!(users.len() <= data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1);
    for user in &users {
        assert!(!user.username.is_empty());
        assert!(!user.domain.is_empty());
        assert!(!user.domain.contains('@'));
        assert_eq!(user.domain, user.domain.to_ascii_lowercase());
        assert_eq!(user.ha1_md5.len(), 32);
        assert_eq!(user.ha1_sha256.len(), 64);
        assert!(
            user.ha1_md5
                .bytes()
                .chain(user.ha1_sha256.bytes())
                .all(|b| b.is_ascii_hexdigit())
        );
        assert!(
            user.display_name
                .as_ref()
                .is_none_or(|d| !d.trim().is_empty())
        );
    }
});
