//! Server nonces (RFC 7616 §3.3 and §5.4, RFC 3261 §22.4): verifiable without state,
//! bound to the client address, expiring, and protected against replay.
//!
//! Wire form: 64 lower-case hex digits encoding 32 bytes,
//! `issued-at (u64 ms since the epoch, big-endian) | salt (8 random bytes) | mac (16 bytes)`,
//! where `mac` is HMAC-SHA-256 (truncated) over a domain tag, issued-at, salt and the
//! client IP, keyed with the per-process secret. The salt keeps two nonces issued to the
//! same address in the same millisecond (clients behind one NAT) apart, so their nonce
//! counts are tracked separately.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::replay::{NonceKey, Presentation, ReplayGuard};

type HmacSha256 = Hmac<Sha256>;

/// Nonces remembered for replay protection before the oldest are evicted.
const DEFAULT_MAX_TRACKED_NONCES: usize = 1_000_000;
const NONCE_HEX_LEN: usize = 64;
/// Domain tags keep the nonce MAC and the opaque value from ever being interchangeable.
const NONCE_TAG: u8 = 1;
const OPAQUE_TAG: &[u8] = b"\x02herald opaque";

/// Result of checking a nonce presented by a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceCheck {
    /// Ours, issued to this client, not expired, nc fresh.
    Valid,
    /// Well-formed, ours, but expired (or forgotten under memory pressure): challenge again
    /// with `stale=true`.
    Stale,
    /// Forged, issued to another client, or malformed.
    Invalid,
    /// nc not above the highest already accepted for this nonce, or a second use of a
    /// nonce first used without qop.
    Replayed,
}

/// Issues and checks server nonces. Cheap to call from many threads (`Send + Sync`).
pub struct NonceManager {
    /// Keyed once; cloned per use so the key schedule is not redone on every call.
    keyed_mac: HmacSha256,
    lifetime_ms: u64,
    opaque: String,
    replay: ReplayGuard,
}

/// A nonce [`NonceManager::verify`] found genuine, fresh and not replayed, waiting for
/// [`NonceManager::record`] once the digest response checked out.
pub struct VerifiedNonce {
    presentation: Presentation,
    now_ms: u64,
}

impl NonceManager {
    /// A manager with a random per-process secret: nonces do not survive a restart.
    pub fn new(lifetime: Duration) -> Self {
        Self::with_secret(rand::random(), lifetime)
    }

    /// A manager with the given secret (shared by cooperating servers, or fixed in tests).
    pub fn with_secret(secret: [u8; 32], lifetime: Duration) -> Self {
        // HMAC zero-pads short keys to the block size itself, so padding here gives the same
        // MAC while using the infallible fixed-size constructor.
        let mut key_block = [0u8; 64];
        key_block
            .iter_mut()
            .zip(secret)
            .for_each(|(out, byte)| *out = byte);
        let keyed_mac = <HmacSha256 as KeyInit>::new(&key_block.into());
        let lifetime_ms = duration_ms(lifetime);
        let mut opaque_mac = keyed_mac.clone();
        opaque_mac.update(OPAQUE_TAG);
        let opaque_bytes = opaque_mac.finalize().into_bytes();
        let opaque = crate::hex_encode::lower_hex(opaque_bytes.get(..16).unwrap_or(&opaque_bytes));
        NonceManager {
            keyed_mac,
            lifetime_ms,
            opaque,
            replay: ReplayGuard::new(DEFAULT_MAX_TRACKED_NONCES, purge_interval_ms(lifetime_ms)),
        }
    }

    /// Bounds how many nonces are remembered for replay protection (default 1,000,000).
    /// When full, expired nonces are forgotten first, then the oldest, which then check as
    /// [`NonceCheck::Stale`] so they can never be replayed.
    pub fn with_max_tracked_nonces(mut self, max: usize) -> Self {
        self.replay = ReplayGuard::new(max, purge_interval_ms(self.lifetime_ms));
        self
    }

    /// A fresh nonce for `client`.
    pub fn issue(&self, client: IpAddr) -> String {
        self.issue_at(client, SystemTime::now())
    }

    /// [`issue`](Self::issue) as if the clock read `now`.
    pub fn issue_at(&self, client: IpAddr, now: SystemTime) -> String {
        let issued_ms = epoch_ms(now);
        let salt: [u8; 8] = rand::random();
        let mac = self.nonce_mac(issued_ms, &salt, client);
        let mut raw = [0u8; 32];
        let (issued_part, rest) = raw.split_at_mut(8);
        let (salt_part, mac_part) = rest.split_at_mut(8);
        issued_part.copy_from_slice(&issued_ms.to_be_bytes());
        salt_part.copy_from_slice(&salt);
        mac_part.copy_from_slice(&mac);
        crate::hex_encode::lower_hex(&raw)
    }

    /// Checks a nonce presented by `client` with nonce-count `nc` (None when the client used
    /// no qop). Records the nc only when called with `record = true` (call it with true only
    /// after the response verified, so a wrong password does not burn the counter).
    ///
    /// Check and record are one atomic step: of two concurrent requests with the same nc,
    /// only one recording call returns Valid, so act on the result of the recording call.
    pub fn check(&self, nonce: &str, client: IpAddr, nc: Option<u32>, record: bool) -> NonceCheck {
        self.check_at(nonce, client, nc, record, SystemTime::now())
    }

    /// [`check`](Self::check) as if the clock read `now`.
    pub fn check_at(
        &self,
        nonce: &str,
        client: IpAddr,
        nc: Option<u32>,
        record: bool,
        now: SystemTime,
    ) -> NonceCheck {
        match self.presentation_at(nonce, client, nc, now) {
            Ok((presentation, now_ms)) => self.replay.check(&presentation, record, now_ms),
            Err(check) => check,
        }
    }

    /// [`check`](Self::check) without recording, keeping what a later
    /// [`record`](Self::record) needs: the nonce is decoded and its MAC computed once
    /// for both steps.
    pub fn verify(
        &self,
        nonce: &str,
        client: IpAddr,
        nc: Option<u32>,
    ) -> Result<VerifiedNonce, NonceCheck> {
        self.verify_at(nonce, client, nc, SystemTime::now())
    }

    /// Records the nonce-count of a nonce [`verify`](Self::verify) accepted: the result
    /// of `check(.., record = true)` (the count may have been used since).
    pub fn record(&self, verified: &VerifiedNonce) -> NonceCheck {
        self.replay
            .check(&verified.presentation, true, verified.now_ms)
    }

    fn verify_at(
        &self,
        nonce: &str,
        client: IpAddr,
        nc: Option<u32>,
        now: SystemTime,
    ) -> Result<VerifiedNonce, NonceCheck> {
        let (presentation, now_ms) = self.presentation_at(nonce, client, nc, now)?;
        match self.replay.check(&presentation, false, now_ms) {
            NonceCheck::Valid => Ok(VerifiedNonce {
                presentation,
                now_ms,
            }),
            other => Err(other),
        }
    }

    /// The nonce decoded, its MAC checked against `client` and its age against the
    /// lifetime: everything but the replay table, with the clock in epoch ms.
    fn presentation_at(
        &self,
        nonce: &str,
        client: IpAddr,
        nc: Option<u32>,
        now: SystemTime,
    ) -> Result<(Presentation, u64), NonceCheck> {
        let Some((issued_ms, salt, mac)) = decode_nonce(nonce) else {
            return Err(NonceCheck::Invalid);
        };
        let expected = self.nonce_mac(issued_ms, &salt, client);
        if !bool::from(expected.ct_eq(&mac)) {
            return Err(NonceCheck::Invalid);
        }
        let now_ms = epoch_ms(now);
        // A nonce from the future only means the clock stepped back; count it as just issued.
        if now_ms.saturating_sub(issued_ms) > self.lifetime_ms {
            return Err(NonceCheck::Stale);
        }
        let presentation = Presentation {
            key: mac,
            issued_ms,
            expires_ms: issued_ms.saturating_add(self.lifetime_ms),
            nc,
        };
        Ok((presentation, now_ms))
    }

    /// The opaque value to send with challenges (constant per process; derived from the secret).
    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    fn nonce_mac(&self, issued_ms: u64, salt: &[u8; 8], client: IpAddr) -> NonceKey {
        let mut mac = self.keyed_mac.clone();
        mac.update(&[NONCE_TAG]);
        mac.update(&issued_ms.to_be_bytes());
        mac.update(salt);
        // The canonical form makes `::ffff:192.0.2.1` and `192.0.2.1` the same client.
        match client.to_canonical() {
            IpAddr::V4(v4) => {
                mac.update(&[4]);
                mac.update(&v4.octets());
            }
            IpAddr::V6(v6) => {
                mac.update(&[6]);
                mac.update(&v6.octets());
            }
        }
        let full = mac.finalize().into_bytes();
        let mut truncated = [0u8; 16];
        truncated
            .iter_mut()
            .zip(full.iter())
            .for_each(|(out, byte)| *out = *byte);
        truncated
    }
}

impl fmt::Debug for NonceManager {
    // Never prints the secret-derived MAC state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceManager")
            .field("lifetime_ms", &self.lifetime_ms)
            .field("opaque", &self.opaque)
            .finish_non_exhaustive()
    }
}

/// Splits a nonce into issued-at, salt and MAC; `None` unless it is exactly our wire form.
fn decode_nonce(nonce: &str) -> Option<(u64, [u8; 8], NonceKey)> {
    let bytes = nonce.as_bytes();
    let is_lhex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if bytes.len() != NONCE_HEX_LEN || !bytes.iter().all(is_lhex) {
        return None;
    }
    let (issued_hex, rest) = bytes.split_at(16);
    let (salt_hex, mac_hex) = rest.split_at(16);
    let mut issued = [0u8; 8];
    let mut salt = [0u8; 8];
    let mut mac = [0u8; 16];
    hex::decode_to_slice(issued_hex, &mut issued).ok()?;
    hex::decode_to_slice(salt_hex, &mut salt).ok()?;
    hex::decode_to_slice(mac_hex, &mut mac).ok()?;
    Some((u64::from_be_bytes(issued), salt, mac))
}

fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, duration_ms)
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Expired entries are swept about four times per lifetime, at most once a second.
fn purge_interval_ms(lifetime_ms: u64) -> u64 {
    (lifetime_ms / 4).max(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn manager() -> NonceManager {
        NonceManager::with_secret([7; 32], Duration::from_secs(30))
    }

    #[test]
    fn nonce_wire_form_is_64_lower_hex_with_the_issue_time() {
        let now = UNIX_EPOCH + Duration::from_millis(0x0123_4567_89ab);
        let nonce = manager().issue_at(CLIENT, now);
        assert_eq!(nonce.len(), NONCE_HEX_LEN);
        assert!(
            nonce
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(nonce.starts_with("00000123456789ab"), "{nonce}");
    }

    #[test]
    fn verify_then_record_burns_the_count_once() {
        let m = manager();
        let nonce = m.issue(CLIENT);
        let first = m
            .verify(&nonce, CLIENT, Some(1))
            .expect("fresh nonce verifies");
        // Verifying records nothing: the same count verifies again.
        let again = m.verify(&nonce, CLIENT, Some(1)).expect("not yet recorded");
        assert_eq!(m.record(&first), NonceCheck::Valid);
        // Of two requests verified with the same count, only the first records.
        assert_eq!(m.record(&again), NonceCheck::Replayed);
        assert!(matches!(
            m.verify(&nonce, CLIENT, Some(1)),
            Err(NonceCheck::Replayed)
        ));
        assert!(m.verify(&nonce, CLIENT, Some(2)).is_ok());
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert!(matches!(
            m.verify(&nonce, other, Some(3)),
            Err(NonceCheck::Invalid)
        ));
    }

    #[test]
    fn nonces_are_unique_even_in_the_same_millisecond() {
        let m = manager();
        let now = SystemTime::now();
        assert_ne!(m.issue_at(CLIENT, now), m.issue_at(CLIENT, now));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_same_client() {
        let m = manager();
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        let nonce = m.issue(mapped);
        assert_eq!(m.check(&nonce, CLIENT, Some(1), false), NonceCheck::Valid);
        let other_v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(
            m.check(&nonce, other_v6, Some(1), false),
            NonceCheck::Invalid
        );
    }

    #[test]
    fn uppercase_or_truncated_nonces_are_invalid() {
        let m = manager();
        let nonce = m.issue(CLIENT);
        assert_eq!(
            m.check(&nonce.to_ascii_uppercase(), CLIENT, Some(1), false),
            NonceCheck::Invalid
        );
        assert_eq!(
            m.check(&nonce[..63], CLIENT, Some(1), false),
            NonceCheck::Invalid
        );
        assert_eq!(
            m.check(&format!("{nonce}0"), CLIENT, Some(1), false),
            NonceCheck::Invalid
        );
        assert_eq!(m.check("", CLIENT, None, false), NonceCheck::Invalid);
        // Multi-byte characters of the right byte length must not trip slicing.
        assert_eq!(
            m.check(&"é".repeat(32), CLIENT, None, false),
            NonceCheck::Invalid
        );
    }

    #[test]
    fn opaque_is_stable_per_secret_and_differs_between_secrets() {
        let a = manager();
        let b = manager();
        let c = NonceManager::with_secret([8; 32], Duration::from_secs(30));
        assert_eq!(a.opaque(), b.opaque());
        assert_ne!(a.opaque(), c.opaque());
        assert_eq!(a.opaque().len(), 32);
    }

    #[test]
    fn debug_does_not_leak_the_secret_state() {
        let text = format!("{:?}", manager());
        assert!(text.contains("lifetime_ms: 30000"), "{text}");
        assert!(!text.contains("keyed_mac"), "{text}");
    }

    #[test]
    fn padded_key_gives_the_same_mac_as_the_plain_secret() {
        let secret = [0x5a; 32];
        let m = NonceManager::with_secret(secret, Duration::from_secs(30));
        let mut plain = match <HmacSha256 as Mac>::new_from_slice(&secret) {
            Ok(mac) => mac,
            Err(err) => panic!("32-byte key rejected: {err}"),
        };
        plain.update(OPAQUE_TAG);
        let expected = hex::encode(&plain.finalize().into_bytes()[..16]);
        assert_eq!(m.opaque(), expected);
    }

    #[test]
    fn nonce_issued_in_the_future_is_valid() {
        let m = manager();
        let now = SystemTime::now();
        let nonce = m.issue_at(CLIENT, now + Duration::from_secs(3600));
        assert_eq!(
            m.check_at(&nonce, CLIENT, Some(1), false, now),
            NonceCheck::Valid
        );
    }
}
