//! `[overload]`: when the server refuses new work with 503 (see herald-server's
//! overload control).
use anyhow::{Result, bail};
use herald_server::OverloadConfig;
use serde::Deserialize;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Accepted `overload.max_queue_delay_ms`: 10 ms to 10 s.
const MAX_QUEUE_DELAY_MS: RangeInclusive<u64> = 10..=10_000;
/// Accepted `overload.max_in_flight`.
const MAX_IN_FLIGHT: RangeInclusive<usize> = 1..=10_000_000;
/// Accepted `overload.retry_after_secs` bounds.
const RETRY_AFTER_SECS: RangeInclusive<u32> = 1..=3_600;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadFile {
    /// A request that waited longer than this in a worker queue means the server is
    /// behind (10..=10000).
    pub max_queue_delay_ms: Option<u64>,
    /// Requests in service tasks at once above which new out-of-dialog requests get 503.
    pub max_in_flight: Option<usize>,
    /// `Retry-After` of the 503: a random value in `[low, high]` seconds (1..=3600).
    pub retry_after_secs: Option<[u32; 2]>,
}

/// Fills `c` from `[overload]`, each value checked against its range.
pub fn apply(c: &mut OverloadConfig, file: &OverloadFile) -> Result<()> {
    if let Some(ms) = file.max_queue_delay_ms {
        if !MAX_QUEUE_DELAY_MS.contains(&ms) {
            bail!("overload.max_queue_delay_ms must be within {MAX_QUEUE_DELAY_MS:?}, not {ms}");
        }
        c.max_queue_delay = Duration::from_millis(ms);
    }
    if let Some(n) = file.max_in_flight {
        if !MAX_IN_FLIGHT.contains(&n) {
            bail!("overload.max_in_flight must be within {MAX_IN_FLIGHT:?}, not {n}");
        }
        c.max_in_flight = n;
    }
    if let Some([low, high]) = file.retry_after_secs {
        if !RETRY_AFTER_SECS.contains(&low) || !RETRY_AFTER_SECS.contains(&high) || low > high {
            bail!(
                "overload.retry_after_secs must be [low, high] with low <= high, both within {RETRY_AFTER_SECS:?}"
            );
        }
        c.retry_after_secs = low..=high;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OverloadConfig> {
        let file: OverloadFile = toml::from_str(text)?;
        let mut c = OverloadConfig::default();
        apply(&mut c, &file)?;
        Ok(c)
    }

    #[test]
    fn values_in_range_are_taken() {
        let c = parse("max_queue_delay_ms = 50\nmax_in_flight = 100\nretry_after_secs = [1, 3]")
            .expect("valid");
        assert_eq!(c.max_queue_delay, Duration::from_millis(50));
        assert_eq!(c.max_in_flight, 100);
        assert_eq!(c.retry_after_secs, 1..=3);
    }

    #[test]
    fn values_out_of_range_are_errors_that_name_the_key() {
        for (text, key) in [
            ("max_queue_delay_ms = 5", "max_queue_delay_ms"),
            ("max_in_flight = 0", "max_in_flight"),
            ("retry_after_secs = [5, 2]", "retry_after_secs"),
            ("retry_after_secs = [0, 2]", "retry_after_secs"),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        assert!(parse("unknown = 1").is_err());
    }
}
