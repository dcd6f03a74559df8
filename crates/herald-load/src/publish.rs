//! One publish phase: PUBLISH at a fixed rate for a while, each from a random
//! presentity that has no PUBLISH in flight, then a drain during which the NOTIFYs
//! still owed may arrive. Latency is publish-to-NOTIFY per watcher (see `ledger`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use herald_sip::HeaderName;
use parking_lot::Mutex;
use rand::Rng;
use serde::Serialize;

use crate::connection::Connection;
use crate::exchange::{ChallengeKind, Target, authenticated, record_failure};
use crate::pidf::publish_body;
use crate::requests::{OutRequest, token};
use crate::state::PresenceState;
use crate::stats::{LatencySummary, Outcomes, unix_now};

/// Expiry asked for every publication (longer than any run).
const PUBLISH_EXPIRES: &str = "3600";
/// Availability bands a presentity cycles through (Available, Busy, Away).
const BANDS: [u32; 3] = [3500, 6500, 15500];
/// Distinct offsets within a band, so that the value of a late NOTIFY is not taken for
/// a newer publish: one value repeats only every `3 * OFFSETS` publishes of a user.
const OFFSETS: u64 = 100;
/// Random draws for a presentity without a PUBLISH in flight before a send is skipped.
const PICK_TRIES: usize = 64;
/// How often the sender catches up with the schedule.
const TICK: Duration = Duration::from_millis(2);

/// The availability of a user's `n`-th PUBLISH (0-based).
pub fn availability_for(n: u64) -> u32 {
    let band = BANDS.get((n % 3) as usize).copied().unwrap_or(3500);
    band + ((n / 3) % OFFSETS) as u32
}

/// Parameters of one step.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Target PUBLISH requests per second.
    pub rate: u32,
    /// Length of the sending window.
    pub duration: Duration,
    /// Wait after the window for the NOTIFYs still owed.
    pub drain: Duration,
    /// How the server challenges a PUBLISH.
    pub challenge: ChallengeKind,
}

/// What one step measured.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// Target PUBLISH/s.
    pub target_rate: u32,
    /// Length of the sending window, seconds.
    pub duration_s: f64,
    /// Wall-clock start of the sending window (Unix seconds), to line up with samples
    /// taken outside the tool (server CPU, RSS).
    pub window_start_unix_s: f64,
    /// Wall-clock end of the drain (Unix seconds).
    pub drain_end_unix_s: f64,
    /// PUBLISH requests the schedule asked for.
    pub planned: u64,
    /// Publishes started (their first PUBLISH sent).
    pub sent: u64,
    /// Scheduled sends skipped because every presentity drawn had a PUBLISH in flight.
    pub skipped_busy: u64,
    /// Final answers by status (after digest and 412 retries) or local failure.
    pub outcomes: Outcomes,
    /// Publishes that did not end in 2xx.
    pub failures: u64,
    /// `failures` in percent of `sent`.
    pub failure_pct: f64,
    /// Publishes answered 2xx per second of the sending window.
    pub achieved_rate: f64,
    /// 401 challenges received in the step.
    pub challenges: u64,
    /// PUBLISHes sent again without SIP-If-Match after a 412.
    pub etag_retries: u64,
    /// NOTIFYs received during the sending window.
    pub notifies_in_window: u64,
    /// `notifies_in_window` per second.
    pub notifies_per_s: f64,
    /// NOTIFYs received from the start of the window to the end of the drain.
    pub notifies_total: u64,
    /// (publish, watcher) pairs owed: sum over successful publishes of the active
    /// watchers when they were sent.
    pub deliveries_expected: u64,
    /// (publish, watcher) pairs delivered (the latency samples).
    pub deliveries: u64,
    /// NOTIFYs repeating a value their watcher had seen.
    pub repeated_notifies: u64,
    /// NOTIFYs whose value matched no outstanding publish.
    pub unmatched_notifies: u64,
    /// Publish-to-NOTIFY latency.
    pub latency: LatencySummary,
    /// Time from the first PUBLISH to its final response (digest and 412 retries
    /// included), for the publishes that got one.
    pub publish_response: LatencySummary,
    /// PUBLISHes still unanswered at the end of the drain.
    pub unanswered_at_drain_end: u64,
    /// Publishes some watcher had not been told of at the end of the drain.
    pub incomplete_publishes: usize,
    /// (publish, watcher) pairs still owed at the end of the drain.
    pub missing_notifies: usize,
    /// Publishes still incomplete one more drain period after every PUBLISH was
    /// answered or timed out: late NOTIFYs have come by then, lost ones have not.
    pub incomplete_publishes_later: usize,
    /// (publish, watcher) pairs still owed at that later time.
    pub missing_notifies_later: usize,
    /// The step passed: achieved >= 95 % of the target, failures < 1 %, nothing
    /// missing after the drain.
    pub pass: bool,
}

/// Counters shared by the publish tasks of one step.
#[derive(Debug, Default)]
struct StepTally {
    outcomes: Mutex<Outcomes>,
    etag_retries: AtomicU64,
    deliveries_expected: AtomicU64,
    in_flight: AtomicU64,
    response_times: Mutex<Vec<Duration>>,
}

/// Runs one step.
pub async fn publish_step(
    state: &Arc<PresenceState>,
    conns: &Arc<Vec<Arc<Connection>>>,
    step: Step,
) -> StepReport {
    for ledger in &state.ledgers {
        ledger.lock().clear();
    }
    drop(state.take_latencies());
    let counts_start = state.tally_counts();
    let challenges_start = state.challenges.load(Ordering::Relaxed);
    let tally = Arc::new(StepTally::default());
    let planned = (f64::from(step.rate) * step.duration.as_secs_f64()).round() as u64;
    let mut tasks = tokio::task::JoinSet::new();
    let mut sent = 0u64;
    let mut skipped = 0u64;
    let started = Instant::now();
    let window_start_unix_s = unix_now();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent + skipped < planned {
        ticker.tick().await;
        let due = ((started.elapsed().as_secs_f64() * f64::from(step.rate)) as u64).min(planned);
        while sent + skipped < due {
            match pick_idle_presentity(state) {
                Some(presentity) => {
                    sent += 1;
                    tally.in_flight.fetch_add(1, Ordering::AcqRel);
                    let (state, conns, tally) = (state.clone(), conns.clone(), tally.clone());
                    tasks.spawn(async move {
                        let outcome =
                            publish_one(&state, &conns, presentity, &tally, step.challenge).await;
                        if let Some(user) = state.users.get(presentity) {
                            user.publishing.store(false, Ordering::Release);
                        }
                        tally.outcomes.lock().add(&outcome);
                        tally.in_flight.fetch_sub(1, Ordering::AcqRel);
                    });
                }
                None => skipped += 1,
            }
        }
        // Reap finished tasks as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    let window = started.elapsed().max(step.duration);
    let window_end = Instant::now();
    let counts_window = state.tally_counts();
    tokio::time::sleep_until((window_end + step.drain).into()).await;

    let drain_end_unix_s = unix_now();
    let unanswered = tally.in_flight.load(Ordering::Acquire);
    let (incomplete, missing) = owed_deliveries(state);
    let counts_drain = state.tally_counts();
    let mut latencies = state.take_latencies();
    if unanswered > 0 {
        tracing::info!("waiting for {unanswered} unanswered PUBLISH requests");
    }
    while tasks.join_next().await.is_some() {}
    tokio::time::sleep(step.drain).await;
    let (incomplete_later, missing_later) = owed_deliveries(state);

    let outcomes = tally.outcomes.lock().clone();
    let failures = outcomes.failures();
    let failure_pct = if sent == 0 {
        0.0
    } else {
        100.0 * failures as f64 / sent as f64
    };
    let achieved_rate = outcomes.successes() as f64 / window.as_secs_f64();
    let in_window = counts_window.since(&counts_start);
    let until_drain = counts_drain.since(&counts_start);
    let pass = achieved_rate >= 0.95 * f64::from(step.rate)
        && (failures as f64) < 0.01 * sent as f64
        && incomplete == 0
        && missing == 0;
    StepReport {
        target_rate: step.rate,
        duration_s: window.as_secs_f64(),
        window_start_unix_s,
        drain_end_unix_s,
        planned,
        sent,
        skipped_busy: skipped,
        failures,
        failure_pct,
        achieved_rate,
        outcomes,
        challenges: state.challenges.load(Ordering::Relaxed) - challenges_start,
        etag_retries: tally.etag_retries.load(Ordering::Relaxed),
        notifies_in_window: in_window.notifies,
        notifies_per_s: in_window.notifies as f64 / window.as_secs_f64(),
        notifies_total: until_drain.notifies,
        deliveries_expected: tally.deliveries_expected.load(Ordering::Relaxed),
        deliveries: until_drain.deliveries,
        repeated_notifies: until_drain.repeated,
        unmatched_notifies: until_drain.unmatched,
        latency: LatencySummary::of(&mut latencies),
        publish_response: LatencySummary::of(&mut tally.response_times.lock()),
        unanswered_at_drain_end: unanswered,
        incomplete_publishes: incomplete,
        missing_notifies: missing,
        incomplete_publishes_later: incomplete_later,
        missing_notifies_later: missing_later,
        pass,
    }
}

/// Publishes not yet complete and the (publish, watcher) pairs they still miss.
fn owed_deliveries(state: &PresenceState) -> (usize, usize) {
    let (mut incomplete, mut missing) = (0, 0);
    for ledger in &state.ledgers {
        let (publishes, owed) = ledger.lock().incomplete();
        incomplete += publishes;
        missing += owed;
    }
    (incomplete, missing)
}

/// A random user without a PUBLISH in flight, now marked as publishing.
fn pick_idle_presentity(state: &PresenceState) -> Option<usize> {
    let mut rng = rand::thread_rng();
    let users = state.users.len();
    (0..PICK_TRIES).find_map(|_| {
        let candidate = rng.gen_range(0..users.max(1));
        let user = state.users.get(candidate)?;
        user.publishing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            .then_some(candidate)
    })
}

/// One publish of `presentity`: PUBLISH (with SIP-If-Match once it has a publication),
/// answering challenges, and once more without SIP-If-Match after a 412. Returns the
/// outcome.
async fn publish_one(
    state: &PresenceState,
    conns: &[Arc<Connection>],
    presentity: usize,
    tally: &StepTally,
    challenge: ChallengeKind,
) -> String {
    let (Some(conn), Some(user), Some(ledger)) = (
        state.connection_of(conns, presentity),
        state.users.get(presentity),
        state.ledgers.get(presentity),
    ) else {
        return "invalid".into();
    };
    let value = {
        let mut user_state = user.state.lock();
        let n = user_state.publishes;
        user_state.publishes += 1;
        availability_for(n)
    };
    let uri = state.population.uri(presentity);
    let body = publish_body(&uri, value);
    let from_tag = token();
    let call_id = token();
    let local = conn.local();
    let build = |cseq: u32, authorization: Option<&str>| {
        let branch = token();
        let etag = user.state.lock().etag.clone();
        let mut headers: Vec<(&str, &str)> =
            vec![("Event", "presence"), ("Expires", PUBLISH_EXPIRES)];
        if let Some(etag) = etag.as_deref() {
            headers.push(("SIP-If-Match", etag));
        }
        if let Some(a) = authorization {
            headers.push((challenge.credentials_header(), a));
        }
        OutRequest {
            method: "PUBLISH",
            uri: &uri,
            from: &uri,
            from_tag: &from_tag,
            call_id: &call_id,
            cseq,
            branch: &branch,
            local,
            headers: &headers,
            body: Some(("application/pidf+xml", body.as_bytes())),
        }
        .to_bytes()
    };
    let sent = Instant::now();
    let (seq, watchers) = {
        let mut ledger = ledger.lock();
        (ledger.published(value, sent), ledger.active_watchers())
    };
    let mut cseq = 0;
    let mut retried_412 = false;
    let result = loop {
        let target = Target {
            user: presentity,
            method: "PUBLISH",
            uri: &uri,
            call_id: &call_id,
            kind: challenge,
        };
        let result = authenticated(state, conn, target, &mut cseq, &build).await;
        match result {
            Ok(response) if response.status == 412 && !retried_412 => {
                retried_412 = true;
                tally.etag_retries.fetch_add(1, Ordering::Relaxed);
                user.state.lock().etag = None;
            }
            other => break other,
        }
    };
    if result.is_ok() {
        tally.response_times.lock().push(sent.elapsed());
    }
    match result {
        Ok(response) if (200..300).contains(&response.status) => {
            let etag = response
                .headers
                .get(&HeaderName::SipETag)
                .map(|v| v.as_str().trim().to_owned());
            user.state.lock().etag = etag;
            tally
                .deliveries_expected
                .fetch_add(watchers as u64, Ordering::Relaxed);
            response.status.to_string()
        }
        Ok(response) => {
            ledger.lock().abandoned(seq);
            let target = Target {
                user: presentity,
                method: "PUBLISH",
                uri: &uri,
                call_id: &call_id,
                kind: challenge,
            };
            record_failure(&state.anomalies, target, &response);
            response.status.to_string()
        }
        Err(e) => {
            ledger.lock().abandoned(seq);
            e.as_str().to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_cycles_bands_with_long_period() {
        assert_eq!(availability_for(0), 3500);
        assert_eq!(availability_for(1), 6500);
        assert_eq!(availability_for(2), 15500);
        assert_eq!(availability_for(3), 3501);
        let values: std::collections::HashSet<u32> =
            (0..3 * OFFSETS).map(availability_for).collect();
        assert_eq!(values.len(), (3 * OFFSETS) as usize);
        assert_eq!(availability_for(3 * OFFSETS), 3500);
        for n in 0..1000 {
            let v = availability_for(n);
            assert!(
                (3500..3600).contains(&v)
                    || (6500..6600).contains(&v)
                    || (15500..15600).contains(&v),
                "{v}"
            );
        }
    }
}
