//! Digest algorithms (RFC 7616 §3.3, RFC 8760 §2) and the hash function `H` they define.

use md5::Md5;
use sha2::{Digest, Sha256};

/// A digest algorithm the server accepts.
///
/// The `-sess` variants and SHA-512-256 are deliberately absent: the server never offers
/// them, so credentials naming them are rejected as unsupported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`: the RFC 3261 default, still what most SIP clients speak.
    Md5,
    /// `SHA-256` (RFC 8760).
    Sha256,
}

impl Algorithm {
    /// The name used on the wire (`MD5`, `SHA-256`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses a wire name, case-insensitively. Unknown names give `None`.
    ///
    /// An absent `algorithm` parameter means MD5; that default is applied by the caller,
    /// not here, so that an empty value is not mistaken for "absent".
    pub fn parse(s: &str) -> Option<Algorithm> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Length of `H(..)` as hex, used to reject an HA1 stored for another algorithm.
    pub(crate) fn hex_len(&self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 => 64,
        }
    }

    /// `H(parts[0] ":" parts[1] ":" ...)` as lower-case hex.
    ///
    /// Takes the parts separately so callers never build the joined string.
    pub(crate) fn hash_joined(&self, parts: &[&[u8]]) -> String {
        match self {
            Algorithm::Md5 => hash_joined_with::<Md5>(parts),
            Algorithm::Sha256 => hash_joined_with::<Sha256>(parts),
        }
    }
}

fn hash_joined_with<D: Digest>(parts: &[&[u8]]) -> String {
    let mut hasher = D::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update(b":");
        }
        hasher.update(part);
    }
    crate::hex_encode::lower_hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_case_insensitive_and_round_trips() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
            assert_eq!(
                Algorithm::parse(&alg.as_str().to_ascii_lowercase()),
                Some(alg)
            );
        }
        assert_eq!(Algorithm::parse("sha-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("Md5"), Some(Algorithm::Md5));
    }

    #[test]
    fn parse_rejects_unsupported_names() {
        for name in [
            "",
            "MD5-sess",
            "SHA-256-sess",
            "SHA-512-256",
            "SHA256",
            "MD5 ",
            "AKAv1-MD5",
        ] {
            assert_eq!(Algorithm::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn hash_joined_matches_known_digests() {
        // Well-known digests of "abc" and of the empty string.
        assert_eq!(
            Algorithm::Md5.hash_joined(&[b"abc"]),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            Algorithm::Sha256.hash_joined(&[b"abc"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Algorithm::Md5.hash_joined(&[]),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    #[test]
    fn hash_joined_inserts_colons_between_parts() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            assert_eq!(
                alg.hash_joined(&[b"a", b"b", b"c"]),
                alg.hash_joined(&[b"a:b:c"])
            );
            assert_eq!(alg.hash_joined(&[b"", b""]), alg.hash_joined(&[b":"]));
            assert_eq!(alg.hash_joined(&[b"x"]).len(), alg.hex_len());
        }
    }
}
