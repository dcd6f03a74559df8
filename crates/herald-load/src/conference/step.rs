//! One message step: MESSAGEs at a fixed total rate for a while, participants taking
//! turns (see `layout`), each participant with at most one MESSAGE in flight (a turn
//! whose participant is still waiting passes to the next one); then a drain during
//! which the copies still owed may arrive.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use herald_sip::Method;
use parking_lot::Mutex;
use serde::Serialize;

use super::body::{Stamp, encode};
use super::setup::finish;
use super::state::ConferenceState;
use crate::anomalies::Anomaly;
use crate::connection::Connection;
use crate::routing::RouteKey;
use crate::stats::{LatencySummary, Outcomes, unix_now};

/// How often the sender catches up with the schedule.
const TICK: Duration = Duration::from_millis(2);

/// Parameters of one step.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Index of the step in the run.
    pub index: u32,
    /// Target MESSAGE requests per second, all participants together.
    pub rate: u32,
    /// Length of the sending window.
    pub duration: Duration,
    /// Wait after the window for the copies still owed.
    pub drain: Duration,
    /// Body size to pad to.
    pub body_bytes: usize,
    /// Highest p99 latency a passing step may have, ms.
    pub max_p99_ms: f64,
}

/// Where the run's schedule stands between steps.
#[derive(Debug, Default)]
pub struct Cursor {
    /// The next turn (see `Layout::turn`).
    pub turn: u64,
    /// The number of the next message.
    pub next_id: u64,
}

/// What one step measured.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// Target MESSAGE/s.
    pub target_rate: u32,
    /// Length of the sending window, seconds.
    pub duration_s: f64,
    /// Wall-clock start of the sending window (Unix seconds).
    pub window_start_unix_s: f64,
    /// Wall-clock end of the drain (Unix seconds).
    pub drain_end_unix_s: f64,
    /// MESSAGEs the schedule asked for.
    pub planned: u64,
    /// MESSAGEs sent.
    pub sent: u64,
    /// Turns skipped because every participant had a MESSAGE in flight (or had left).
    pub skipped_busy: u64,
    /// Final answers by status, or local failure.
    pub outcomes: Outcomes,
    /// MESSAGEs answered 2xx.
    pub accepted: u64,
    /// MESSAGEs not answered 2xx (still unanswered at the drain's end included).
    pub failures: u64,
    /// `failures` in percent of `sent`.
    pub failure_pct: f64,
    /// MESSAGEs accepted per second of the sending window.
    pub achieved_rate: f64,
    /// Time from sending a MESSAGE to its final answer.
    pub message_response: LatencySummary,
    /// MESSAGEs without a final answer at the drain's end.
    pub unanswered_at_drain_end: u64,
    /// Copies owed for the accepted MESSAGEs (each one's other active participants).
    pub copies_expected: u64,
    /// Copies of them received by the drain's end.
    pub copies_received: u64,
    /// Copies owed and not received by the drain's end.
    pub copies_missing: u64,
    /// Accepted MESSAGEs some participant had not got by the drain's end.
    pub incomplete_messages: u64,
    /// Copies still missing one more drain after every MESSAGE was answered (or timed
    /// out), when some were missing at the drain's end: lost rather than late.
    pub copies_lost: u64,
    /// Copies that came after the drain's end (`copies_missing - copies_lost`).
    pub copies_late: u64,
    /// Copies received of MESSAGEs the focus did not accept (or had not answered).
    pub copies_of_unaccepted: u64,
    /// Copies that came after a later MESSAGE of the same sender.
    pub out_of_order: u64,
    /// Copies a participant got twice.
    pub repeated: u64,
    /// Copies whose P-Asserted-Identity named someone else.
    pub wrong_sender: u64,
    /// Copies read (of any step) during the sending window.
    pub copies_in_window: u64,
    /// `copies_in_window` per second: the fan-out rate.
    pub fanout_per_s: f64,
    /// The fan-out rate the accepted MESSAGEs called for.
    pub expected_fanout_per_s: f64,
    /// Send-to-arrival latency of every copy received (late ones included).
    pub latency: LatencySummary,
    /// Participants the focus dropped during the step.
    pub participants_dropped: usize,
    /// Participants still active at the end of the step.
    pub active_participants: usize,
    /// The checks the step failed (empty: it passed).
    pub failed_checks: Vec<String>,
    /// The step passed.
    pub pass: bool,
}

/// Counters shared by the send tasks of one step.
#[derive(Debug, Default)]
struct StepTally {
    outcomes: Mutex<Outcomes>,
    in_flight: AtomicU64,
    response_times: Mutex<Vec<Duration>>,
}

/// Runs one step.
pub async fn message_step(
    state: &Arc<ConferenceState>,
    conns: &Arc<Vec<Arc<Connection>>>,
    step: Step,
    cursor: &mut Cursor,
) -> StepReport {
    let tally = Arc::new(StepTally::default());
    let planned = planned(step.rate, step.duration);
    let mut tasks = tokio::task::JoinSet::new();
    let (mut sent, mut skipped) = (0u64, 0u64);
    let started = Instant::now();
    let window_start_unix_s = unix_now();
    let arrivals_start = state.arrivals();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent + skipped < planned {
        ticker.tick().await;
        let due = ((started.elapsed().as_secs_f64() * f64::from(step.rate)) as u64).min(planned);
        while sent + skipped < due {
            let picked = pick_sender(state, &mut cursor.turn);
            let id = cursor.next_id;
            match picked {
                Some(user) if (id as usize) < state.book.capacity() => {
                    cursor.next_id += 1;
                    sent += 1;
                    tally.in_flight.fetch_add(1, Ordering::AcqRel);
                    let (state, conns, tally) = (state.clone(), conns.clone(), tally.clone());
                    tasks.spawn(async move {
                        send_one(&state, &conns, user, id, step, &tally).await;
                        if let Some(member) = state.members.get(user) {
                            member.sending.store(false, Ordering::Release);
                        }
                        tally.in_flight.fetch_sub(1, Ordering::AcqRel);
                    });
                }
                Some(user) => {
                    // The book is sized for the whole schedule; this cannot happen
                    // unless the schedule and the book disagree.
                    if let Some(member) = state.members.get(user) {
                        member.sending.store(false, Ordering::Release);
                    }
                    skipped += 1;
                }
                None => skipped += 1,
            }
        }
        while tasks.try_join_next().is_some() {}
    }
    let window = started.elapsed().max(step.duration);
    let window_end = Instant::now();
    let copies_in_window = state.arrivals().saturating_sub(arrivals_start);
    tokio::time::sleep_until((window_end + step.drain).into()).await;

    let drain_end_unix_s = unix_now();
    let unanswered = tally.in_flight.load(Ordering::Acquire);
    let book = state.book.summary(step.index);
    if unanswered > 0 {
        tracing::info!("waiting for {unanswered} unanswered MESSAGE requests");
    }
    while tasks.join_next().await.is_some() {}
    // Late or lost: what is missing now may still come; give it one more drain.
    let later = if book.copies_missing > 0 || unanswered > 0 {
        tracing::info!(
            "{} copies missing after the drain: waiting {:?} more",
            book.copies_missing,
            step.drain
        );
        tokio::time::sleep(step.drain).await;
        state.book.summary(step.index)
    } else {
        book
    };
    let mut copies = state.take_step(step.index as usize);

    let outcomes = tally.outcomes.lock().clone();
    let accepted = book.accepted;
    let failures = sent.saturating_sub(accepted);
    let failure_pct = if sent == 0 {
        0.0
    } else {
        100.0 * failures as f64 / sent as f64
    };
    let achieved_rate = accepted as f64 / window.as_secs_f64();
    let latency = LatencySummary::of(&mut copies.latencies);
    let dropped = state.dropped_since(started);
    let mut report = StepReport {
        target_rate: step.rate,
        duration_s: window.as_secs_f64(),
        window_start_unix_s,
        drain_end_unix_s,
        planned,
        sent,
        skipped_busy: skipped,
        outcomes,
        accepted,
        failures,
        failure_pct,
        achieved_rate,
        message_response: LatencySummary::of(&mut tally.response_times.lock()),
        unanswered_at_drain_end: unanswered,
        copies_expected: book.copies_expected,
        copies_received: book.copies_received,
        copies_missing: book.copies_missing,
        incomplete_messages: book.incomplete_messages,
        copies_lost: later.copies_missing,
        copies_late: book.copies_missing.saturating_sub(later.copies_missing),
        copies_of_unaccepted: book.copies_of_unaccepted,
        out_of_order: copies.out_of_order,
        repeated: copies.repeated,
        wrong_sender: copies.wrong_sender,
        copies_in_window,
        fanout_per_s: copies_in_window as f64 / window.as_secs_f64(),
        expected_fanout_per_s: book.copies_expected as f64 / window.as_secs_f64(),
        latency,
        participants_dropped: dropped,
        active_participants: state.active_members(),
        failed_checks: Vec::new(),
        pass: false,
    };
    report.failed_checks = failed_checks(&report, step.max_p99_ms);
    report.pass = report.failed_checks.is_empty();
    report
}

/// MESSAGEs a step of `rate` per second over `duration` sends.
pub fn planned(rate: u32, duration: Duration) -> u64 {
    (f64::from(rate) * duration.as_secs_f64()).round() as u64
}

/// Why a step fails: fewer than 95 % of the target accepted per second, 1 % or more
/// failed, any copy missing at the drain's end, out of order or misattributed, any
/// participant dropped, or a p99 latency above the bound.
pub fn failed_checks(r: &StepReport, max_p99_ms: f64) -> Vec<String> {
    let mut failed = Vec::new();
    if r.achieved_rate < 0.95 * f64::from(r.target_rate) {
        failed.push(format!(
            "achieved {:.0}/s < 95 % of {}/s",
            r.achieved_rate, r.target_rate
        ));
    }
    if r.failures as f64 >= 0.01 * r.sent as f64 && r.failures > 0 {
        failed.push(format!(
            "{} MESSAGEs failed ({:.2} %)",
            r.failures, r.failure_pct
        ));
    }
    if r.copies_missing > 0 {
        failed.push(format!(
            "{} copies missing after the drain ({} came later)",
            r.copies_missing, r.copies_late
        ));
    }
    if r.out_of_order > 0 {
        failed.push(format!("{} copies out of order", r.out_of_order));
    }
    if r.wrong_sender > 0 {
        failed.push(format!("{} copies with the wrong sender", r.wrong_sender));
    }
    if r.participants_dropped > 0 {
        failed.push(format!("{} participants dropped", r.participants_dropped));
    }
    if r.latency.p99_ms > max_p99_ms {
        failed.push(format!("p99 {:.1} ms > {max_p99_ms} ms", r.latency.p99_ms));
    }
    failed
}

/// The next participant, from turn `turn` on, that is active and has no MESSAGE in
/// flight, now marked as sending; `turn` moves past it. `None` after a whole round.
fn pick_sender(state: &ConferenceState, turn: &mut u64) -> Option<usize> {
    for _ in 0..state.layout.users() {
        let user = state.layout.turn(*turn);
        *turn = turn.wrapping_add(1);
        let Some(member) = state.members.get(user) else {
            continue;
        };
        if member.active()
            && member
                .sending
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Some(user);
        }
    }
    None
}

/// `user` sends message `id` in its dialog and waits for the answer.
async fn send_one(
    state: &ConferenceState,
    conns: &[Arc<Connection>],
    user: usize,
    id: u64,
    step: Step,
    tally: &StepTally,
) {
    let (Some(conn), Some(member)) = (state.connection_of(conns, user), state.members.get(user))
    else {
        return;
    };
    let Some(call_id) = member.call_id.get() else {
        return;
    };
    let Some(request) = member
        .dialog
        .lock()
        .as_mut()
        .and_then(|d| d.request(Method::Message))
    else {
        return;
    };
    let Ok(cseq) = request.cseq() else {
        return;
    };
    let owed = u32::try_from(state.others_active(user)).unwrap_or(u32::MAX);
    let stamp = Stamp {
        step: step.index,
        id,
        sender: u32::try_from(user).unwrap_or(u32::MAX),
        seq: member.next_seq.fetch_add(1, Ordering::AcqRel),
        sent_us: state.now_us(),
    };
    let body = Bytes::from(encode(&stamp, step.body_bytes));
    let bytes = finish(request, conn.local(), Some(("text/plain", body)));
    state.book.sent(id, step.index, owed);
    let key = RouteKey {
        call_id: call_id.clone(),
        cseq: cseq.seq,
    };
    let started = Instant::now();
    let result = conn
        .request(key, bytes, state.settings.request_timeout)
        .await;
    let outcome = match &result {
        Ok(response) => {
            tally.response_times.lock().push(started.elapsed());
            let accepted = (200..300).contains(&response.status);
            state.book.answered(id, accepted);
            if !accepted {
                state.anomalies.record(
                    Anomaly::FailureAnswer,
                    format!(
                        "MESSAGE of {} answered:\n{}",
                        state.population.name(user),
                        String::from_utf8_lossy(&response.to_bytes())
                    ),
                );
            }
            response.status.to_string()
        }
        Err(e) => {
            state.book.answered(id, false);
            e.as_str().to_owned()
        }
    };
    tally.outcomes.lock().add(&outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StepReport {
        StepReport {
            target_rate: 100,
            duration_s: 10.0,
            window_start_unix_s: 0.0,
            drain_end_unix_s: 0.0,
            planned: 1000,
            sent: 1000,
            skipped_busy: 0,
            outcomes: Outcomes::default(),
            accepted: 1000,
            failures: 0,
            failure_pct: 0.0,
            achieved_rate: 100.0,
            message_response: LatencySummary::default(),
            unanswered_at_drain_end: 0,
            copies_expected: 19_000,
            copies_received: 19_000,
            copies_missing: 0,
            incomplete_messages: 0,
            copies_lost: 0,
            copies_late: 0,
            copies_of_unaccepted: 0,
            out_of_order: 0,
            repeated: 0,
            wrong_sender: 0,
            copies_in_window: 18_900,
            fanout_per_s: 1890.0,
            expected_fanout_per_s: 1900.0,
            latency: LatencySummary {
                samples: 19_000,
                p50_ms: 1.0,
                p90_ms: 2.0,
                p99_ms: 5.0,
                max_ms: 9.0,
            },
            participants_dropped: 0,
            active_participants: 1000,
            failed_checks: Vec::new(),
            pass: true,
        }
    }

    #[test]
    fn a_clean_step_passes() {
        assert!(failed_checks(&report(), 500.0).is_empty());
        assert_eq!(planned(400, Duration::from_secs(10)), 4000);
        assert_eq!(planned(50, Duration::from_millis(1500)), 75);
    }

    #[test]
    fn every_check_can_fail() {
        let mut r = report();
        r.achieved_rate = 94.0;
        r.failures = 10;
        r.failure_pct = 1.0;
        r.copies_missing = 3;
        r.copies_late = 2;
        r.out_of_order = 1;
        r.wrong_sender = 2;
        r.participants_dropped = 1;
        r.latency.p99_ms = 600.0;
        let failed = failed_checks(&r, 500.0);
        assert_eq!(failed.len(), 7, "{failed:?}");
        assert!(failed[0].starts_with("achieved 94/s"));
        assert_eq!(failed[2], "3 copies missing after the drain (2 came later)");
        // Below 1 % of failures is tolerated.
        let mut r = report();
        r.failures = 9;
        assert!(failed_checks(&r, 500.0).is_empty());
    }
}
