//! Unexpected input, counted by kind and logged a few times each: the tool never stops
//! on what the server sends, it reports it.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

/// Kinds of unexpected input or events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// The byte stream could not be framed (the connection is then closed).
    Framing,
    /// A framed message did not parse.
    Unparseable,
    /// A response no request waits for (late, duplicate or unknown).
    UnroutedResponse,
    /// A request other than NOTIFY.
    UnexpectedRequest,
    /// A NOTIFY whose From/To name no subscription of this run.
    UnknownDialog,
    /// A NOTIFY for another event package than presence.
    WrongEvent,
    /// A NOTIFY with a body but no readable availability number.
    NoAvailability,
    /// A NOTIFY without a Subscription-State or with an unknown state.
    BadSubscriptionState,
    /// A 401 without a challenge this tool can answer.
    BadChallenge,
    /// A connection closed or failed.
    ConnectionLost,
    /// A SUBSCRIBE or PUBLISH finally answered with a failure status (the first few
    /// are logged whole, to show the server's reason).
    FailureAnswer,
    /// A request from the server in a dialog that is not one of this run's
    /// conference dialogs.
    StrayRequest,
    /// A conference MESSAGE without a stamp of this run (or one naming an impossible
    /// sender, step or message).
    BadCopy,
    /// A conference MESSAGE whose P-Asserted-Identity does not name its sender.
    WrongSender,
    /// The focus ended a participant's dialog (BYE): it was dropped.
    DroppedByFocus,
}

const KINDS: [(Anomaly, &str); 15] = [
    (Anomaly::Framing, "framing_error"),
    (Anomaly::Unparseable, "unparseable_message"),
    (Anomaly::UnroutedResponse, "unrouted_response"),
    (Anomaly::UnexpectedRequest, "unexpected_request"),
    (Anomaly::UnknownDialog, "notify_unknown_dialog"),
    (Anomaly::WrongEvent, "notify_wrong_event"),
    (Anomaly::NoAvailability, "notify_without_availability"),
    (
        Anomaly::BadSubscriptionState,
        "notify_bad_subscription_state",
    ),
    (Anomaly::BadChallenge, "unanswerable_challenge"),
    (Anomaly::ConnectionLost, "connection_lost"),
    (Anomaly::FailureAnswer, "failure_answer"),
    (Anomaly::StrayRequest, "request_in_unknown_dialog"),
    (Anomaly::BadCopy, "message_unreadable"),
    (Anomaly::WrongSender, "message_wrong_sender"),
    (Anomaly::DroppedByFocus, "dropped_by_focus"),
];

/// How many of each kind are logged before the rest are only counted.
const LOGGED_PER_KIND: u64 = 5;

/// Counters of [`Anomaly`] kinds.
#[derive(Debug, Default)]
pub struct Anomalies {
    counts: [AtomicU64; KINDS.len()],
}

impl Anomalies {
    /// Counts one occurrence; the first few of each kind are logged with `detail`.
    pub fn record(&self, kind: Anomaly, detail: impl Display) {
        let index = KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0);
        let Some(counter) = self.counts.get(index) else {
            return;
        };
        let seen = counter.fetch_add(1, Ordering::Relaxed);
        if seen < LOGGED_PER_KIND {
            let name = KINDS.get(index).map_or("?", |(_, name)| name);
            tracing::warn!("{name}: {detail}");
            if seen + 1 == LOGGED_PER_KIND {
                tracing::warn!("{name}: further ones are only counted");
            }
        }
    }

    /// Every kind seen at least once, by name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        KINDS
            .iter()
            .zip(&self.counts)
            .map(|((_, name), count)| (*name, count.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_beyond_the_logged_few() {
        let a = Anomalies::default();
        for _ in 0..12 {
            a.record(Anomaly::UnroutedResponse, "late 200");
        }
        a.record(Anomaly::ConnectionLost, "reset");
        let snap = a.snapshot();
        assert_eq!(snap.get("unrouted_response"), Some(&12));
        assert_eq!(snap.get("connection_lost"), Some(&1));
        assert_eq!(snap.len(), 2);
    }
}
