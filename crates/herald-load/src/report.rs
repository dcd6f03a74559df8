//! The results of a presence run: a human-readable summary and a JSON document (the
//! anomaly line is shared with the other scenarios).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::publish::StepReport;
use crate::stats::Outcomes;
use crate::subscribe::SubscribeReport;

/// Everything a presence run measured.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Server address.
    pub server: String,
    /// Users.
    pub users: usize,
    /// Presentities each user watches.
    pub watch: usize,
    /// TCP connections used.
    pub connections: usize,
    /// The subscription phase.
    pub subscribe: SubscribeReport,
    /// The publish steps, in order.
    pub steps: Vec<StepReport>,
    /// Subscriptions terminated by the server during the run, by reason.
    pub terminated: Outcomes,
    /// Unexpected input by kind.
    pub anomalies: BTreeMap<&'static str, u64>,
}

/// The subscription phase in a few lines.
pub fn describe_subscribe(s: &SubscribeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "subscriptions: {} established of {} in {:.1} s ({:.0}/s; all answered after {:.1} s), {} challenges",
        s.established,
        s.subscriptions,
        s.complete_after_s,
        s.per_second,
        s.answered_after_s,
        s.challenges
    );
    let _ = writeln!(
        out,
        "  SUBSCRIBE outcomes: {}; first NOTIFY received by {}, missing for {}, terminated {}",
        s.outcomes.describe(),
        s.notified,
        s.missing_first_notify,
        s.terminated
    );
    out
}

/// One step in a few lines.
pub fn describe_step(s: &StepReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "step {}/s: {} — sent {} in {:.1} s (skipped {} busy), achieved {:.0}/s, failures {} ({:.2} %), outcomes {}",
        s.target_rate,
        if s.pass { "pass" } else { "FAIL" },
        s.sent,
        s.duration_s,
        s.skipped_busy,
        s.achieved_rate,
        s.failures,
        s.failure_pct,
        s.outcomes.describe()
    );
    let _ = writeln!(
        out,
        "  NOTIFY: {:.0}/s in the window ({} until the drain ended); deliveries {} of {} owed; repeated {}, unmatched {}",
        s.notifies_per_s,
        s.notifies_total,
        s.deliveries,
        s.deliveries_expected,
        s.repeated_notifies,
        s.unmatched_notifies
    );
    let _ = writeln!(
        out,
        "  publish-to-NOTIFY ms: p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ({} samples)",
        s.latency.p50_ms, s.latency.p90_ms, s.latency.p99_ms, s.latency.max_ms, s.latency.samples
    );
    let _ = writeln!(
        out,
        "  PUBLISH response ms: p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}; {} challenges, {} etag retries",
        s.publish_response.p50_ms,
        s.publish_response.p90_ms,
        s.publish_response.p99_ms,
        s.publish_response.max_ms,
        s.challenges,
        s.etag_retries
    );
    let _ = writeln!(
        out,
        "  after the drain: {} publishes incomplete, {} NOTIFYs missing, {} PUBLISH unanswered; \
         a drain after the last answer: {} incomplete, {} missing",
        s.incomplete_publishes,
        s.missing_notifies,
        s.unanswered_at_drain_end,
        s.incomplete_publishes_later,
        s.missing_notifies_later
    );
    out
}

/// The closing lines: terminations and anomalies.
pub fn describe_run_end(r: &RunReport) -> String {
    format!(
        "terminated subscriptions: {}\nanomalies: {}\n",
        r.terminated.describe(),
        describe_anomalies(&r.anomalies)
    )
}

/// `kind:n kind:m`, or `none`.
pub fn describe_anomalies(anomalies: &BTreeMap<&'static str, u64>) -> String {
    if anomalies.is_empty() {
        return "none".to_owned();
    }
    anomalies
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
