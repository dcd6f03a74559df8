//! Fresh identifiers the layer and the TU stamp on outgoing messages.
use herald_sip::via::BRANCH_MAGIC;

/// A new Via branch: the RFC 3261 magic cookie followed by 128 random bits in hex,
/// unique across space and time as §8.1.1.7 requires.
pub fn new_branch() -> String {
    let mut branch = String::with_capacity(BRANCH_MAGIC.len() + 32);
    branch.push_str(BRANCH_MAGIC);
    push_random_hex(&mut branch);
    branch
}

/// A new To/From tag with 128 random bits (§19.3 asks for at least 32).
pub(crate) fn new_tag() -> String {
    let mut tag = String::with_capacity(32);
    push_random_hex(&mut tag);
    tag
}

fn push_random_hex(out: &mut String) {
    use std::fmt::Write;
    let bits: u128 = rand::random();
    // Writing to a String cannot fail.
    let _ = write!(out, "{bits:032x}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_carry_the_cookie_and_differ() {
        let a = new_branch();
        let b = new_branch();
        assert!(a.starts_with("z9hG4bK"));
        assert_eq!(a.len(), 7 + 32);
        assert!(a[7..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn tags_are_hex_and_differ() {
        let a = new_tag();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_tag());
    }
}
