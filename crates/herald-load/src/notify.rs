//! Requests from the server: every NOTIFY is answered 200 at once (an unanswered one
//! ends the subscription), then accounted: its subscription, its state, and the
//! availability it carries against the presentity's ledger.

use std::time::Instant;

use herald_sip::{HeaderName, Method, Request};

use crate::anomalies::Anomaly;
use crate::connection::{Connection, Inbound};
use crate::ledger::NotifyEffect;
use crate::pidf;
use crate::requests::ok_to;
use crate::state::{NotifyTally, PresenceState, SUB_NOTIFIED, SUB_TERMINATED};

/// The subscription state of a NOTIFY (RFC 6665 §8.2.3).
#[derive(Debug, PartialEq, Eq)]
pub enum SubscriptionState {
    /// `active`.
    Active,
    /// `pending`.
    Pending,
    /// `terminated`, with its reason if given.
    Terminated(Option<String>),
}

/// Reads a Subscription-State value; `None` for a state this tool does not know.
pub fn parse_subscription_state(value: &str) -> Option<SubscriptionState> {
    let mut parts = value.split(';');
    let state = parts.next()?.trim();
    if state.eq_ignore_ascii_case("active") {
        Some(SubscriptionState::Active)
    } else if state.eq_ignore_ascii_case("pending") {
        Some(SubscriptionState::Pending)
    } else if state.eq_ignore_ascii_case("terminated") {
        let reason = parts.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("reason")
                .then(|| value.trim().to_ascii_lowercase())
        });
        Some(SubscriptionState::Terminated(reason))
    } else {
        None
    }
}

impl Inbound for PresenceState {
    fn request(&self, conn: &Connection, request: Request, at: Instant) {
        match request.method {
            Method::Notify => {
                conn.send(ok_to(&request));
                self.account_notify(conn.id(), &request, at);
            }
            Method::Ack => {}
            _ => {
                let answer = herald_sip::response::from_request(&request, 501, None, None);
                conn.send(answer.to_bytes());
                self.anomalies.record(
                    Anomaly::UnexpectedRequest,
                    format!("{} {}", request.method, request.uri),
                );
            }
        }
    }
}

impl PresenceState {
    fn account_notify(&self, conn_id: usize, request: &Request, at: Instant) {
        let Some((watcher, presentity)) = self.dialog_users(request) else {
            self.anomalies.record(
                Anomaly::UnknownDialog,
                format!(
                    "NOTIFY from {:?} to {:?}",
                    request.headers.get(&HeaderName::From).map(|v| v.as_str()),
                    request.headers.get(&HeaderName::To).map(|v| v.as_str())
                ),
            );
            return;
        };
        let (Some(sub), Some(slot)) = (
            self.population.subscription_id(watcher, presentity),
            self.population.slot(watcher, presentity),
        ) else {
            self.anomalies.record(
                Anomaly::UnknownDialog,
                format!(
                    "NOTIFY for a pair that does not subscribe: {watcher} watching {presentity}"
                ),
            );
            return;
        };
        let event = request.headers.get(&HeaderName::Event).map(|v| v.as_str());
        let event_ok = event.is_some_and(|e| {
            e.split(';')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("presence"))
        });
        if !event_ok {
            self.anomalies.record(
                Anomaly::WrongEvent,
                format!("Event {event:?} on subscription {sub}"),
            );
        }
        let state = request
            .headers
            .get(&HeaderName::SubscriptionState)
            .and_then(|v| parse_subscription_state(v));
        let Some(mut tally) = self.tallies.get(conn_id).map(|t| t.lock()) else {
            return;
        };
        tally.notifies += 1;
        let before = self.flag_subscription(sub, SUB_NOTIFIED);
        if before & SUB_NOTIFIED == 0 {
            self.notified_subscriptions
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        match state {
            Some(SubscriptionState::Active) => {}
            Some(SubscriptionState::Pending) => tally.pending += 1,
            Some(SubscriptionState::Terminated(reason)) => {
                tally
                    .terminated
                    .add(reason.as_deref().unwrap_or("no-reason"));
                if before & SUB_TERMINATED == 0 {
                    self.flag_subscription(sub, SUB_TERMINATED);
                    if let Some(ledger) = self.ledgers.get(presentity) {
                        ledger.lock().deactivate(slot);
                    }
                }
                return;
            }
            None => {
                self.anomalies.record(
                    Anomaly::BadSubscriptionState,
                    format!(
                        "{:?} on subscription {sub}",
                        request
                            .headers
                            .get(&HeaderName::SubscriptionState)
                            .map(|v| v.as_str())
                    ),
                );
            }
        }
        if request.body.is_empty() {
            return;
        }
        let Some(value) = pidf::availability(&request.body) else {
            self.anomalies.record(
                Anomaly::NoAvailability,
                format!(
                    "subscription {sub}: {:?}",
                    String::from_utf8_lossy(
                        request
                            .body
                            .get(..request.body.len().min(300))
                            .unwrap_or_default()
                    )
                ),
            );
            return;
        };
        self.account_value(&mut tally, presentity, slot, value, at);
    }

    fn account_value(
        &self,
        tally: &mut NotifyTally,
        presentity: usize,
        slot: usize,
        value: u32,
        at: Instant,
    ) {
        let Some(ledger) = self.ledgers.get(presentity) else {
            return;
        };
        let effect = ledger
            .lock()
            .notified(slot, value, at, &mut tally.latencies);
        match effect {
            NotifyEffect::Delivered(n) => tally.deliveries += n as u64,
            NotifyEffect::Repeated => tally.repeated += 1,
            NotifyEffect::Unmatched => tally.unmatched += 1,
            NotifyEffect::InactiveSlot => tally.inactive += 1,
        }
    }

    /// (watcher, presentity) of a NOTIFY: the To user watches the From user.
    fn dialog_users(&self, request: &Request) -> Option<(usize, usize)> {
        let from = request.from().ok()?;
        let to = request.to().ok()?;
        let user_of = |uri: &herald_sip::Uri| -> Option<usize> {
            let host_ok = uri
                .host
                .to_string()
                .eq_ignore_ascii_case(self.population.domain());
            let user = uri.user.as_ref()?;
            if !host_ok {
                return None;
            }
            self.population.index(user.as_str())
        };
        Some((user_of(&to.uri)?, user_of(&from.uri)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_states() {
        assert_eq!(
            parse_subscription_state("active;expires=3599"),
            Some(SubscriptionState::Active)
        );
        assert_eq!(
            parse_subscription_state(" Pending "),
            Some(SubscriptionState::Pending)
        );
        assert_eq!(
            parse_subscription_state("terminated;retry-after=5; reason=Timeout"),
            Some(SubscriptionState::Terminated(Some("timeout".into())))
        );
        assert_eq!(
            parse_subscription_state("terminated"),
            Some(SubscriptionState::Terminated(None))
        );
        assert_eq!(parse_subscription_state("sleeping"), None);
        assert_eq!(parse_subscription_state(""), None);
    }
}

#[cfg(test)]
mod accounting_tests {
    use super::*;
    use crate::anomalies::Anomalies;
    use crate::population::Population;
    use crate::state::SUB_ESTABLISHED;
    use bytes::Bytes;
    use herald_sip::{Message, message::ParseLimits};
    use std::sync::Arc;
    use std::time::Duration;

    fn state() -> PresenceState {
        let population = Population::new(5, 2, "u", "bench.test").expect("valid");
        PresenceState::new(
            population,
            "pw".into(),
            Duration::from_secs(1),
            1,
            Arc::new(Anomalies::default()),
        )
    }

    fn notify(from: &str, to: &str, sub_state: &str, body: &str) -> Request {
        let text = format!(
            "NOTIFY sip:x@127.0.0.1:4000;transport=tcp SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bKn\r\n\
             From: <sip:{from}@bench.test>;tag=s\r\nTo: <sip:{to}@bench.test>;tag=w\r\n\
             Call-ID: c\r\nCSeq: 1 NOTIFY\r\nEvent: presence\r\n\
             Subscription-State: {sub_state}\r\nContent-Type: application/pidf+xml\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match Message::parse(Bytes::from(text), &ParseLimits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("test NOTIFY did not parse: {other:?}"),
        }
    }

    #[test]
    fn notifies_drive_subscriptions_and_ledgers() {
        let s = state();
        let t0 = Instant::now();
        // u00000 watches u00001 (slot 0) and u00002; u00004 watches u00000 (slot 0) and u00001 (slot 1).
        let sub = s.population.subscription_id(0, 1).expect("sub");
        s.flag_subscription(sub, SUB_ESTABLISHED);
        s.ledgers[1].lock().activate(0);
        s.ledgers[1].lock().activate(1);
        s.account_notify(
            0,
            &notify(
                "u00001",
                "u00000",
                "active;expires=60",
                &pidf::publish_body("sip:u00001@bench.test", 18000),
            ),
            t0,
        );
        assert_eq!(
            s.notified_subscriptions
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        assert_eq!(s.tally_counts().unmatched, 1);

        s.ledgers[1].lock().published(3500, t0);
        let body = pidf::publish_body("sip:u00001@bench.test", 3500);
        s.account_notify(
            0,
            &notify("u00001", "u00000", "active;expires=60", &body),
            t0 + Duration::from_millis(4),
        );
        s.account_notify(
            0,
            &notify("u00001", "u00000", "active;expires=60", &body),
            t0 + Duration::from_millis(5),
        );
        let counts = s.tally_counts();
        assert_eq!(
            (counts.notifies, counts.deliveries, counts.repeated),
            (3, 1, 1)
        );
        assert_eq!(s.take_latencies(), vec![Duration::from_millis(4)]);
        assert_eq!(s.ledgers[1].lock().incomplete(), (1, 1));

        // The other watcher's subscription ends: the publish needs nobody else.
        s.account_notify(
            0,
            &notify("u00001", "u00004", "terminated;reason=timeout", ""),
            t0,
        );
        assert_eq!(s.ledgers[1].lock().incomplete(), (0, 0));
        assert_eq!(s.terminations().describe(), "timeout:1");
        let terminated = s.population.subscription_id(4, 1).expect("sub");
        assert_ne!(
            s.flag_subscription(terminated, 0) & crate::state::SUB_TERMINATED,
            0
        );
    }

    #[test]
    fn strangers_and_garbage_are_counted_not_accounted() {
        let s = state();
        let t0 = Instant::now();
        // u00002 watches u00003 and u00004, not u00000; u99999 is nobody.
        s.account_notify(0, &notify("u00000", "u00002", "active", ""), t0);
        s.account_notify(0, &notify("u99999", "u00000", "active", ""), t0);
        s.account_notify(
            0,
            &notify(
                "u00001",
                "u00000",
                "active",
                "<presence>no number</presence>",
            ),
            t0,
        );
        s.account_notify(0, &notify("u00001", "u00000", "dormant", ""), t0);
        let anomalies = s.anomalies.snapshot();
        assert_eq!(anomalies.get("notify_unknown_dialog"), Some(&2));
        assert_eq!(anomalies.get("notify_without_availability"), Some(&1));
        assert_eq!(anomalies.get("notify_bad_subscription_state"), Some(&1));
        assert_eq!(s.tally_counts().notifies, 2);
        assert_eq!(s.tally_counts().deliveries, 0);
    }
}
