//! The subscription phase: every user subscribes to the presence of the users it
//! watches (one after another per user, many users at once), then the phase waits for
//! the first NOTIFY of every established subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;

use crate::connection::Connection;
use crate::exchange::{ChallengeKind, Target, authenticated, record_failure};
use crate::requests::{OutRequest, token};
use crate::state::{PresenceState, SUB_ESTABLISHED, SUB_TERMINATED};
use crate::stats::Outcomes;

/// Expiry asked for every subscription (longer than any run).
const SUBSCRIBE_EXPIRES: &str = "3600";

/// Times a SUBSCRIBE refused with 503 is sent again (after its Retry-After).
const MAX_503_RETRIES: u32 = 5;
/// The longest Retry-After honoured, and the wait when a 503 has none.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The wait a 503 asks for (its Retry-After seconds), bounded.
fn retry_after(response: &herald_sip::Response) -> Duration {
    response
        .headers
        .get(&herald_sip::HeaderName::RetryAfter)
        .and_then(|v| v.as_str().split(';').next()?.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, |secs| {
            Duration::from_secs(secs).min(MAX_RETRY_AFTER)
        })
}

/// What the subscription phase achieved.
#[derive(Clone, Debug, Serialize)]
pub struct SubscribeReport {
    /// Subscriptions attempted.
    pub subscriptions: usize,
    /// Final answers to the SUBSCRIBEs (after digest round trips) by status.
    pub outcomes: Outcomes,
    /// SUBSCRIBEs answered 2xx.
    pub established: usize,
    /// Established subscriptions that received their first NOTIFY in time.
    pub notified: usize,
    /// Established subscriptions still without a NOTIFY when the wait ended.
    pub missing_first_notify: usize,
    /// Subscriptions a NOTIFY terminated.
    pub terminated: usize,
    /// 401 challenges received during the phase.
    pub challenges: u64,
    /// Seconds until every SUBSCRIBE was answered.
    pub answered_after_s: f64,
    /// Seconds until every established subscription had its first NOTIFY (or the wait
    /// ended).
    pub complete_after_s: f64,
    /// Established subscriptions per second over `complete_after_s`.
    pub per_second: f64,
}

/// Runs the phase: `concurrency` users at a time; then waits up to `notify_wait` for
/// missing first NOTIFYs.
pub async fn subscribe_all(
    state: &Arc<PresenceState>,
    conns: &Arc<Vec<Arc<Connection>>>,
    concurrency: usize,
    notify_wait: Duration,
    challenge: ChallengeKind,
) -> SubscribeReport {
    let started = Instant::now();
    let challenges_before = state.challenges.load(Ordering::Relaxed);
    let next_user = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (state, conns, next_user, outcomes, answered) = (
            state.clone(),
            conns.clone(),
            next_user.clone(),
            outcomes.clone(),
            answered.clone(),
        );
        workers.spawn(async move {
            let watch = state.population.watch();
            loop {
                let user = next_user.fetch_add(1, Ordering::Relaxed);
                if user >= state.population.users() {
                    return;
                }
                let Some(conn) = state.connection_of(&conns, user) else {
                    return;
                };
                for k in 0..watch {
                    let outcome = subscribe_one(&state, conn, user * watch + k, challenge).await;
                    outcomes.lock().add(&outcome);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let total = state.population.subscriptions();
    let progress = tokio::spawn(report_progress(state.clone(), answered.clone(), total));
    while workers.join_next().await.is_some() {}
    let answered_after = started.elapsed();

    let established = state.count_subscriptions(SUB_ESTABLISHED);
    let deadline = Instant::now() + notify_wait;
    while Instant::now() < deadline && first_notifies_missing(state) > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    progress.abort();
    let complete_after = started.elapsed();
    let missing = first_notifies_missing(state);
    let outcomes = outcomes.lock().clone();
    SubscribeReport {
        subscriptions: total,
        outcomes,
        established,
        notified: established - missing,
        missing_first_notify: missing,
        terminated: state.count_subscriptions(SUB_TERMINATED),
        challenges: state.challenges.load(Ordering::Relaxed) - challenges_before,
        answered_after_s: answered_after.as_secs_f64(),
        complete_after_s: complete_after.as_secs_f64(),
        per_second: established as f64 / complete_after.as_secs_f64().max(1e-9),
    }
}

/// Established subscriptions without a NOTIFY yet.
fn first_notifies_missing(state: &PresenceState) -> usize {
    use crate::state::SUB_NOTIFIED;
    state
        .subscriptions
        .iter()
        .filter(|f| f.load(Ordering::Acquire) & (SUB_ESTABLISHED | SUB_NOTIFIED) == SUB_ESTABLISHED)
        .count()
}

async fn report_progress(state: Arc<PresenceState>, answered: Arc<AtomicUsize>, total: usize) {
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let done = answered.load(Ordering::Relaxed);
        tracing::info!(
            "subscriptions answered {done}/{total} ({:.0}/s), notified {}",
            done as f64 / started.elapsed().as_secs_f64(),
            state.notified_subscriptions.load(Ordering::Relaxed)
        );
    }
}

/// Subscription `sub`: its watcher subscribes to its presentity. Returns the outcome
/// (the final status, or a local failure).
async fn subscribe_one(
    state: &PresenceState,
    conn: &Connection,
    sub: usize,
    challenge: ChallengeKind,
) -> String {
    let population = &state.population;
    let Some((presentity, watcher)) = population.subscription(sub) else {
        return "invalid".into();
    };
    let uri = population.uri(presentity);
    let from = population.uri(watcher);
    let from_tag = token();
    let call_id = format!("{sub}.{}", token());
    let contact = format!(
        "<sip:{}@{};transport=tcp>",
        population.name(watcher),
        conn.local()
    );
    let local = conn.local();
    let build = |cseq: u32, authorization: Option<&str>| {
        let branch = token();
        let mut headers: Vec<(&str, &str)> = vec![
            ("Contact", &contact),
            ("Event", "presence"),
            ("Accept", "application/pidf+xml"),
            ("Expires", SUBSCRIBE_EXPIRES),
        ];
        if let Some(a) = authorization {
            headers.push((challenge.credentials_header(), a));
        }
        OutRequest {
            method: "SUBSCRIBE",
            uri: &uri,
            from: &from,
            from_tag: &from_tag,
            call_id: &call_id,
            cseq,
            branch: &branch,
            local,
            headers: &headers,
            body: None,
        }
        .to_bytes()
    };
    let mut cseq = 0;
    let target = Target {
        user: watcher,
        method: "SUBSCRIBE",
        uri: &uri,
        call_id: &call_id,
        kind: challenge,
    };
    let mut refused = 0;
    let answer = loop {
        let answer = authenticated(state, conn, target, &mut cseq, &build).await;
        // A server shedding load (503) says when to come back: a client logging in
        // tries again then, so the phase still sets every subscription up.
        match &answer {
            Ok(response) if response.status == 503 && refused < MAX_503_RETRIES => {
                refused += 1;
                tokio::time::sleep(retry_after(response)).await;
            }
            _ => break answer,
        }
    };
    match answer {
        Ok(response) => {
            let established = (200..300).contains(&response.status);
            // A NOTIFY may have terminated it before the 2xx came.
            if established
                && state.flag_subscription(sub, SUB_ESTABLISHED) & SUB_TERMINATED == 0
                && let (Some(slot), Some(ledger)) = (
                    population.slot(watcher, presentity),
                    state.ledgers.get(presentity),
                )
            {
                ledger.lock().activate(slot);
            }
            if !established {
                record_failure(&state.anomalies, target, &response);
            }
            response.status.to_string()
        }
        Err(e) => e.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use herald_sip::{Message, message::ParseLimits};

    fn answer(extra: &str) -> herald_sip::Response {
        let text = format!(
            "SIP/2.0 503 Service Unavailable\r\nVia: SIP/2.0/TCP 127.0.0.1:4000;branch=z9hG4bKx\r\n\
             From: <sip:u00000@bench.test>;tag=a\r\nTo: <sip:u00001@bench.test>;tag=b\r\n\
             Call-ID: c\r\nCSeq: 1 SUBSCRIBE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match Message::parse(Bytes::from(text), &ParseLimits::default()) {
            Ok(Message::Response(r)) => r,
            other => panic!("test answer did not parse: {other:?}"),
        }
    }

    #[test]
    fn a_503_is_retried_after_the_time_it_asks_bounded() {
        assert_eq!(
            retry_after(&answer("Retry-After: 3\r\n")),
            Duration::from_secs(3)
        );
        assert_eq!(
            retry_after(&answer("Retry-After: 4;duration=60\r\n")),
            Duration::from_secs(4)
        );
        assert_eq!(
            retry_after(&answer("Retry-After: 3600\r\n")),
            MAX_RETRY_AFTER
        );
        assert_eq!(retry_after(&answer("")), DEFAULT_RETRY_AFTER);
        assert_eq!(
            retry_after(&answer("Retry-After: soon\r\n")),
            DEFAULT_RETRY_AFTER
        );
    }
}
