//! Requested expiry against the configured bounds.
use crate::config::ExpiryBounds;
use herald_sip::Request;

/// The seconds granted for the request's Expires (absent: the default; above the
/// maximum: lowered to it; 0 stays 0: a fetch or a removal), or `Err(min)` when it is
/// below the minimum (423 with Min-Expires).
pub fn requested(req: &Request, bounds: &ExpiryBounds) -> Result<u32, u32> {
    match req.expires() {
        None => Ok(bounds.default),
        Some(0) => Ok(0),
        Some(s) if s < bounds.min => Err(bounds.min),
        Some(s) => Ok(s.min(bounds.max)),
    }
}
