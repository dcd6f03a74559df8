//! Requested expiry against the configured bounds.
use crate::config::ExpiryBounds;
use herald_sip::Request;

/// What a request's Expires means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Granted this many seconds (the request's value, lowered to the maximum).
    Granted(u32),
    /// Expires: 0 — a fetch (SUBSCRIBE) or a removal (PUBLISH).
    Zero,
    /// Below the minimum: 423 with Min-Expires.
    TooBrief { min: u32 },
}

/// Reads the request's Expires (absent: the default) against `bounds`.
pub fn requested(req: &Request, bounds: &ExpiryBounds) -> Expiry {
    match req.expires() {
        None => Expiry::Granted(bounds.default),
        Some(0) => Expiry::Zero,
        Some(s) if s < bounds.min => Expiry::TooBrief { min: bounds.min },
        Some(s) => Expiry::Granted(s.min(bounds.max)),
    }
}
