//! Wall-clock time as stored in records.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current time in unix seconds. Timestamps are taken here rather than by SQL so every
/// backend records them the same way. A clock set before 1970 yields 0 instead of failing.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
