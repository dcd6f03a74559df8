//! The results of a conference run: a human-readable summary and a JSON document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::setup::SetupReport;
use super::step::StepReport;
use crate::report::describe_anomalies;
use crate::stats::Outcomes;

/// Everything a conference run measured.
#[derive(Clone, Debug, Serialize)]
pub struct ConferenceReport {
    /// Server address.
    pub server: String,
    /// Conferences.
    pub conferences: usize,
    /// Participants per conference.
    pub participants: usize,
    /// TCP connections used.
    pub connections: usize,
    /// Message body size asked for (0: the stamp alone).
    pub body_bytes: usize,
    /// Whether participants took message/cpim.
    pub cpim: bool,
    /// Making and filling the conferences.
    pub setup: SetupReport,
    /// The message steps, in order.
    pub steps: Vec<StepReport>,
    /// Answers to the participants' BYEs at the end.
    pub leave: Outcomes,
    /// Participants the focus dropped during the run.
    pub dropped_by_focus: usize,
    /// Unexpected input by kind.
    pub anomalies: BTreeMap<&'static str, u64>,
}

/// The setup in a few lines.
pub fn describe_setup(s: &SetupReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "setup: {} of {} conferences made, {} of {} participants joined in {:.1} s ({:.0} joins/s), {} challenges",
        s.created,
        s.conferences,
        s.joined,
        s.participants,
        s.duration_s,
        s.joins_per_s,
        s.challenges
    );
    let _ = writeln!(
        out,
        "  INVITE outcomes: {}; INVITE to 2xx ms: p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        s.outcomes.describe(),
        s.join_time.p50_ms,
        s.join_time.p90_ms,
        s.join_time.p99_ms,
        s.join_time.max_ms
    );
    out
}

/// One step in a few lines.
pub fn describe_step(s: &StepReport) -> String {
    let mut out = String::new();
    let verdict = if s.pass {
        "pass".to_owned()
    } else {
        format!("FAIL ({})", s.failed_checks.join("; "))
    };
    let _ = writeln!(out, "step {}/s: {verdict}", s.target_rate);
    let _ = writeln!(
        out,
        "  MESSAGE: sent {} in {:.1} s (skipped {} busy), accepted {} ({:.0}/s), failures {} ({:.2} %), outcomes {}; answered ms p50 {:.1} p99 {:.1}",
        s.sent,
        s.duration_s,
        s.skipped_busy,
        s.accepted,
        s.achieved_rate,
        s.failures,
        s.failure_pct,
        s.outcomes.describe(),
        s.message_response.p50_ms,
        s.message_response.p99_ms
    );
    let _ = writeln!(
        out,
        "  copies: expected {}, received {}, missing after the drain {} ({} messages incomplete; {} came later, {} lost), out of order {}, repeated {}, wrong sender {}, of unaccepted messages {}",
        s.copies_expected,
        s.copies_received,
        s.copies_missing,
        s.incomplete_messages,
        s.copies_late,
        s.copies_lost,
        s.out_of_order,
        s.repeated,
        s.wrong_sender,
        s.copies_of_unaccepted
    );
    let _ = writeln!(
        out,
        "  fan-out: {:.0} copies/s in the window (expected {:.0}/s); participants dropped {}, active {}",
        s.fanout_per_s, s.expected_fanout_per_s, s.participants_dropped, s.active_participants
    );
    let _ = writeln!(
        out,
        "  send-to-arrival ms: p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ({} copies)",
        s.latency.p50_ms, s.latency.p90_ms, s.latency.p99_ms, s.latency.max_ms, s.latency.samples
    );
    out
}

/// The closing lines.
pub fn describe_end(r: &ConferenceReport) -> String {
    format!(
        "leave: BYE outcomes {}; participants dropped by the focus during the run: {}\nanomalies: {}\n",
        r.leave.describe(),
        r.dropped_by_focus,
        describe_anomalies(&r.anomalies)
    )
}
