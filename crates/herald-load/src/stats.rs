//! Counting outcomes and summarising latency samples.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Final outcomes of requests by kind: a status code (`"200"`, `"403"`) or a local
/// failure (`"timeout"`, `"closed"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Outcomes(BTreeMap<String, u64>);

impl Outcomes {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: &str) {
        *self.0.entry(outcome.to_owned()).or_default() += 1;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Outcomes) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }

    /// All outcomes counted.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Outcomes that are 2xx responses.
    pub fn successes(&self) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with('2') && k.len() == 3)
            .map(|(_, v)| v)
            .sum()
    }

    /// Everything else.
    pub fn failures(&self) -> u64 {
        self.total() - self.successes()
    }

    /// `200:n 403:m` for the summary.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "none".into();
        }
        self.0
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises `samples` (sorted in place). Percentile q is the sample at rank
    /// ceil(q * n) (nearest-rank method).
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let rank = |q: f64| {
            let n = samples.len();
            let r = (q * n as f64).ceil() as usize;
            samples.get(r.clamp(1, n.max(1)) - 1)
        };
        LatencySummary {
            samples: samples.len(),
            p50_ms: ms(rank(0.50)),
            p90_ms: ms(rank(0.90)),
            p99_ms: ms(rank(0.99)),
            max_ms: ms(samples.last()),
        }
    }
}

/// Wall-clock time in Unix seconds, to line steps up with samples taken outside the
/// tool (server CPU, RSS).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_split_successes_and_failures() {
        let mut a = Outcomes::default();
        a.add("200");
        a.add("200");
        a.add("202");
        a.add("403");
        let mut b = Outcomes::default();
        b.add("timeout");
        b.add("200");
        a.merge(&b);
        assert_eq!(a.total(), 6);
        assert_eq!(a.successes(), 4);
        assert_eq!(a.failures(), 2);
        assert_eq!(a.describe(), "200:3 202:1 403:1 timeout:1");
        assert_eq!(Outcomes::default().describe(), "none");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = LatencySummary::of(&mut samples);
        assert_eq!(s.samples, 100);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p90_ms, 90.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        let mut one = vec![Duration::from_micros(1500)];
        let s = LatencySummary::of(&mut one);
        assert_eq!((s.p50_ms, s.p99_ms, s.max_ms), (1.5, 1.5, 1.5));
        assert_eq!(LatencySummary::of(&mut []), LatencySummary::default());
    }
}
