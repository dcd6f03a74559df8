//! When a connection last moved bytes, for idle reaping.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Last read or write on one connection. Atomic because the reader and the writer
/// futures of a connection touch it concurrently and the task must stay `Send`.
#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    last_millis: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Activity {
            base: Instant::now(),
            last_millis: AtomicU64::new(0),
        }
    }

    pub(crate) fn touch(&self) {
        let millis = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    pub(crate) fn last(&self) -> Instant {
        let since_base = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
        self.base.checked_add(since_base).unwrap_or(self.base)
    }

    /// Resolves once nothing has moved for `idle`.
    pub(crate) async fn idle_for(&self, idle: Duration) {
        loop {
            let Some(deadline) = self.last().checked_add(idle) else {
                // An idle timeout beyond the representable future never fires.
                return std::future::pending().await;
            };
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_fires_only_after_a_quiet_period() {
        let activity = Activity::new();
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(5)).await;
        activity.touch();
        activity.idle_for(Duration::from_secs(10)).await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(15), "{waited:?}");
        assert!(waited < Duration::from_secs(16), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn huge_timeouts_never_fire() {
        let activity = Activity::new();
        let fired =
            tokio::time::timeout(Duration::from_secs(3600), activity.idle_for(Duration::MAX)).await;
        assert!(fired.is_err());
    }
}
