//! Wall-clock time as the store records it (Unix epoch milliseconds).
use std::time::SystemTime;

/// Now, in Unix milliseconds; a clock set before 1970 yields 0.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
