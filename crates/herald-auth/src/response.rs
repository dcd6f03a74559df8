//! The digest computation (RFC 7616 §3.4.1–§3.4.3, RFC 3261 §22.4) and its verification.

use subtle::ConstantTimeEq;

use crate::{Algorithm, Credentials};

/// `H(username ":" realm ":" password)` as lower-case hex. This is what the store keeps
/// (never the password).
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash_joined(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

/// `H(username ":" realm)` as lower-case hex: what a client sends as `username` when it
/// uses `userhash=true` (RFC 7616 §3.4.4), so the store can index it.
pub fn userhash(alg: Algorithm, username: &str, realm: &str) -> String {
    alg.hash_joined(&[username.as_bytes(), realm.as_bytes()])
}

/// Expected `response` for qop=auth (and the legacy no-qop form):
/// `KD(HA1, nonce:nc:cnonce:qop:HA2)` (or `KD(HA1, nonce:HA2)` without qop), with
/// `HA2 = H(method:uri)` and `KD(secret, data) = H(secret:data)`.
///
/// `ha1_hex` is the lower-case hex from [`ha1`] for `c.algorithm`. The qop value is hashed
/// as the client sent it. For hand-built credentials that carry a qop but no nc or cnonce,
/// `00000000` and the empty string stand in; [`verify_response`] refuses those anyway.
pub fn expected_response(c: &Credentials, ha1_hex: &str, method: &str) -> String {
    let alg = c.algorithm;
    let ha2 = alg.hash_joined(&[method.as_bytes(), c.uri.as_bytes()]);
    match &c.qop {
        Some(qop) => {
            let nc = nonce_count_hex(c.nc.unwrap_or(0));
            let cnonce = c.cnonce.as_deref().unwrap_or("");
            alg.hash_joined(&[
                ha1_hex.as_bytes(),
                c.nonce.as_bytes(),
                &nc,
                cnonce.as_bytes(),
                qop.as_bytes(),
                ha2.as_bytes(),
            ])
        }
        None => alg.hash_joined(&[ha1_hex.as_bytes(), c.nonce.as_bytes(), ha2.as_bytes()]),
    }
}

/// Constant-time comparison of the expected and given responses.
///
/// Also false, without comparing, when the credentials cannot be verified honestly: an
/// HA1 that is not hex of `c.algorithm`'s length (stored for another algorithm), a qop
/// other than `auth` (auth-int needs the body, and the server never offers it), or a qop
/// without nc and cnonce. The given response's hex case is ignored.
pub fn verify_response(c: &Credentials, ha1_hex: &str, method: &str) -> bool {
    let ha1_ok = ha1_hex.len() == c.algorithm.hex_len()
        && ha1_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let qop_ok = match &c.qop {
        None => true,
        Some(qop) => qop.eq_ignore_ascii_case("auth") && c.nc.is_some() && c.cnonce.is_some(),
    };
    if !ha1_ok || !qop_ok {
        return false;
    }
    let expected = expected_response(c, ha1_hex, method);
    // Lower-cased on the stack: the longest hex digest (SHA-256) is 64 digits, and a
    // longer response cannot match anyway.
    let mut lowered = [0u8; 64];
    let Some(given) = lowered.get_mut(..c.response.len()) else {
        return false;
    };
    for (out, byte) in given.iter_mut().zip(c.response.bytes()) {
        *out = byte.to_ascii_lowercase();
    }
    // Lengths are public (fixed per algorithm); only the content comparison must not leak.
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given))
}

/// `nc` as the 8 lower-case hex digits that go into the digest.
fn nonce_count_hex(nc: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (index, byte) in out.iter_mut().enumerate() {
        let shift = 28 - 4 * index;
        *byte = crate::hex_encode::DIGITS[((nc >> shift) & 0xf) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_count_hex_formats_like_printf() {
        for nc in [0, 1, 0x1f, 0xdead_beef, u32::MAX] {
            assert_eq!(
                nonce_count_hex(nc).as_slice(),
                format!("{nc:08x}").as_bytes()
            );
        }
    }

    #[test]
    fn ha1_is_the_hash_of_the_joined_triple() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            assert_eq!(ha1(alg, "u", "r", "p"), alg.hash_joined(&[b"u:r:p"]));
            assert_ne!(ha1(alg, "u", "r", "p"), ha1(alg, "u", "r", "q"));
        }
    }

    #[test]
    fn userhash_is_the_hash_of_username_and_realm() {
        assert_eq!(
            userhash(Algorithm::Sha256, "u", "r"),
            Algorithm::Sha256.hash_joined(&[b"u:r"])
        );
    }
}
