//! Requests from the focus: every MESSAGE is answered 200 at once (a participant that
//! stops answering is dropped by the focus) and then accounted: whose dialog it came
//! in, which message it copies, who the focus says sent it, in what order it came,
//! how long it took. A BYE from the focus means it dropped the participant.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use herald_sip::{HeaderName, Method, Request, SipStr};

use super::body::{Stamp, asserted_user, decode};
use super::ledger::{Arrival, CopyFate};
use super::state::{ConferenceState, CopyTally};
use crate::anomalies::Anomaly;
use crate::connection::{Connection, Inbound};
use crate::requests::ok_to;

impl Inbound for ConferenceState {
    fn request(&self, conn: &Connection, request: Request, at: Instant) {
        match request.method {
            Method::Message => {
                conn.send(ok_to(&request));
                self.account_copy(conn.id(), &request, at);
            }
            Method::Bye => {
                conn.send(ok_to(&request));
                self.focus_bye(&request, at);
            }
            Method::Ack => {}
            Method::Options => {
                conn.send(ok_to(&request));
            }
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

impl ConferenceState {
    /// The participant whose dialog `request` belongs to: the Call-ID starts with the
    /// user's index (`{user}.{token}`) and must be that user's dialog.
    pub fn recipient(&self, request: &Request) -> Option<usize> {
        let call_id = request.call_id()?;
        let (index, _) = call_id.split_once('.')?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let user: usize = index.parse().ok()?;
        let member = self.members.get(user)?;
        (member.call_id.get().map(String::as_str) == Some(call_id)).then_some(user)
    }

    fn focus_bye(&self, request: &Request, at: Instant) {
        let Some(user) = self.recipient(request) else {
            self.anomalies.record(
                Anomaly::StrayRequest,
                format!("BYE in no dialog of ours: {:?}", request.call_id()),
            );
            return;
        };
        let Some(member) = self.members.get(user) else {
            return;
        };
        if !member.gone.swap(true, Ordering::AcqRel) {
            self.dropped.lock().push((user, at));
            self.anomalies.record(
                Anomaly::DroppedByFocus,
                format!(
                    "{} dropped from conference {} ({:?})",
                    self.population.name(user),
                    self.layout.conference_of(user),
                    request
                        .headers
                        .get(&HeaderName::Other(SipStr::from_static("Reason")))
                        .map(|v| v.as_str())
                ),
            );
        }
    }

    /// Accounts one copy read at `at` on connection `conn_id`.
    pub fn account_copy(&self, conn_id: usize, request: &Request, at: Instant) {
        let Some(mut tally) = self.tallies.get(conn_id).map(|t| t.lock()) else {
            return;
        };
        tally.arrivals += 1;
        let Some(recipient) = self.recipient(request) else {
            self.anomalies.record(
                Anomaly::StrayRequest,
                format!("MESSAGE in no dialog of ours: {:?}", request.call_id()),
            );
            return;
        };
        let Some(stamp) = decode(&request.body).filter(|s| self.plausible(s, recipient)) else {
            self.anomalies.record(
                Anomaly::BadCopy,
                format!(
                    "to {}: {:?}",
                    self.population.name(recipient),
                    String::from_utf8_lossy(
                        request
                            .body
                            .get(..request.body.len().min(200))
                            .unwrap_or_default()
                    )
                ),
            );
            return;
        };
        let sender = stamp.sender as usize;
        self.check_sender(&mut tally, request, &stamp, sender);
        let arrival = match self.members.get(recipient) {
            Some(member) => member
                .inbox
                .lock()
                .get_mut(self.layout.slot_of(sender))
                .map(|order| order.arrive(stamp.seq)),
            None => None,
        };
        let sent = self.epoch + Duration::from_micros(stamp.sent_us);
        let Some(counts) = tally.step(stamp.step as usize) else {
            return;
        };
        match arrival {
            Some(Arrival::InOrder) | Some(Arrival::OutOfOrder) => {
                if arrival == Some(Arrival::OutOfOrder) {
                    counts.out_of_order += 1;
                }
                if self.book.copy(stamp.id) == CopyFate::Counted {
                    counts.received += 1;
                    counts.latencies.push(at.saturating_duration_since(sent));
                } else {
                    self.anomalies.record(
                        Anomaly::BadCopy,
                        format!("copy of unsent message {stamp:?}"),
                    );
                }
            }
            Some(Arrival::Repeated) => counts.repeated += 1,
            Some(Arrival::Implausible) | None => self
                .anomalies
                .record(Anomaly::BadCopy, format!("implausible sequence {stamp:?}")),
        }
    }

    /// A stamp this run could have written for `recipient`: a step of the run, a
    /// sender of the same conference other than the recipient.
    fn plausible(&self, stamp: &Stamp, recipient: usize) -> bool {
        let sender = stamp.sender as usize;
        (stamp.step as usize) < self.settings.steps
            && sender < self.layout.users()
            && sender != recipient
            && self.layout.conference_of(sender) == self.layout.conference_of(recipient)
    }

    /// The focus must name the sender in P-Asserted-Identity.
    fn check_sender(&self, tally: &mut CopyTally, request: &Request, stamp: &Stamp, sender: usize) {
        let pai = request
            .headers
            .get(&HeaderName::Other(SipStr::from_static(
                "P-Asserted-Identity",
            )))
            .map(|v| v.as_str());
        let named = pai.and_then(asserted_user);
        if named == Some(self.population.name(sender).as_str()) {
            return;
        }
        if let Some(counts) = tally.step(stamp.step as usize) {
            counts.wrong_sender += 1;
        }
        self.anomalies.record(
            Anomaly::WrongSender,
            format!(
                "copy of message {} from {} names {pai:?}",
                stamp.id,
                self.population.name(sender)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomalies::Anomalies;
    use crate::conference::body::encode;
    use crate::conference::layout::Layout;
    use crate::conference::state::Settings;
    use crate::population::Population;
    use bytes::Bytes;
    use herald_sip::{Message, message::ParseLimits};
    use std::sync::Arc;

    fn state() -> ConferenceState {
        let layout = Layout::new(2, 3).expect("valid");
        let population = Population::new(layout.users(), 0, "u", "bench.test").expect("valid");
        let s = ConferenceState::new(
            layout,
            population,
            Settings {
                password: "pw".into(),
                request_timeout: Duration::from_secs(1),
                cpim: false,
                steps: 2,
                capacity: 10,
            },
            1,
            Arc::new(Anomalies::default()),
        );
        for (user, member) in s.members.iter().enumerate() {
            member
                .call_id
                .set(format!("{user}.c{user}"))
                .expect("first set");
        }
        s
    }

    fn copy(recipient: usize, pai: &str, body: &str) -> Request {
        let text = format!(
            "MESSAGE sip:u{recipient:05}@127.0.0.1:4000;transport=tcp SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bKm\r\n\
             From: <sip:conf-1@bench.test>;tag=f\r\nTo: <sip:u{recipient:05}@bench.test>;tag=p\r\n\
             Call-ID: {recipient}.c{recipient}\r\nCSeq: 2 MESSAGE\r\n\
             P-Asserted-Identity: {pai}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match Message::parse(Bytes::from(text), &ParseLimits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("test MESSAGE did not parse: {other:?}"),
        }
    }

    fn stamp(id: u64, sender: u32, seq: u64, sent_us: u64) -> String {
        encode(
            &Stamp {
                step: 1,
                id,
                sender,
                seq,
                sent_us,
            },
            0,
        )
    }

    #[test]
    fn copies_are_counted_ordered_and_timed() {
        let s = state();
        // Users 0, 1, 2 are conference 0; 1 sends messages 0 and 1 (its seq 0, 1).
        s.book.sent(0, 1, 2);
        s.book.sent(1, 1, 2);
        let t = |us: u64| s.epoch + Duration::from_micros(us);
        s.account_copy(
            0,
            &copy(0, "<sip:u00001@bench.test>", &stamp(1, 1, 1, 100)),
            t(1_100),
        );
        s.account_copy(
            0,
            &copy(0, "<sip:u00001@bench.test>", &stamp(0, 1, 0, 50)),
            t(2_050),
        );
        s.account_copy(
            0,
            &copy(0, "<sip:u00001@bench.test>", &stamp(0, 1, 0, 50)),
            t(3_000),
        );
        s.account_copy(
            0,
            &copy(2, "\"B\" <sip:u00001@bench.test>", &stamp(0, 1, 0, 50)),
            t(550),
        );
        s.book.answered(0, true);
        s.book.answered(1, true);
        let step = s.take_step(1);
        assert_eq!(
            (
                step.received,
                step.out_of_order,
                step.repeated,
                step.wrong_sender
            ),
            (3, 1, 1, 0)
        );
        let mut lat = step.latencies.clone();
        lat.sort_unstable();
        assert_eq!(
            lat,
            vec![
                Duration::from_micros(500),
                Duration::from_micros(1_000),
                Duration::from_micros(2_000)
            ]
        );
        let summary = s.book.summary(1);
        assert_eq!((summary.copies_expected, summary.copies_received), (4, 3));
        assert_eq!(summary.copies_missing, 1);
        assert_eq!(s.arrivals(), 4);
        // Taken: a second look finds the counts but no latencies.
        assert!(s.take_step(1).latencies.is_empty());
    }

    #[test]
    fn strangers_forgeries_and_wrong_names_are_reported() {
        let s = state();
        s.book.sent(0, 1, 2);
        let now = s.epoch;
        // The focus names the wrong sender: counted, flagged.
        s.account_copy(
            0,
            &copy(0, "<sip:u00002@bench.test>", &stamp(0, 1, 0, 0)),
            now,
        );
        // Sender of the other conference, the recipient itself, a step the run lacks.
        s.account_copy(
            0,
            &copy(0, "<sip:u00004@bench.test>", &stamp(0, 4, 0, 0)),
            now,
        );
        s.account_copy(
            0,
            &copy(0, "<sip:u00000@bench.test>", &stamp(0, 0, 1, 0)),
            now,
        );
        let bad_step = encode(
            &Stamp {
                step: 7,
                id: 0,
                sender: 1,
                seq: 5,
                sent_us: 0,
            },
            0,
        );
        s.account_copy(0, &copy(0, "<sip:u00001@bench.test>", &bad_step), now);
        s.account_copy(0, &copy(0, "<sip:u00001@bench.test>", "hello"), now);
        // A message never sent.
        s.account_copy(
            0,
            &copy(2, "<sip:u00001@bench.test>", &stamp(9, 1, 3, 0)),
            now,
        );
        let mut stranger = copy(0, "<sip:u00001@bench.test>", &stamp(0, 1, 0, 0));
        stranger
            .headers
            .set(HeaderName::CallId, SipStr::from_static("0.someone-else"));
        s.account_copy(0, &stranger, now);
        let step = s.take_step(1);
        assert_eq!((step.received, step.wrong_sender), (1, 1));
        let anomalies = s.anomalies.snapshot();
        assert_eq!(anomalies.get("message_wrong_sender"), Some(&1));
        assert_eq!(anomalies.get("message_unreadable"), Some(&5));
        assert_eq!(anomalies.get("request_in_unknown_dialog"), Some(&1));
        assert_eq!(s.arrivals(), 7);
    }

    #[test]
    fn a_bye_from_the_focus_drops_the_participant_once() {
        let s = state();
        let text = "BYE sip:u00001@127.0.0.1:4000 SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bKb\r\n\
             From: <sip:conf-1@bench.test>;tag=f\r\nTo: <sip:u00001@bench.test>;tag=p\r\n\
             Call-ID: 1.c1\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Request(bye)) = Message::parse(Bytes::from(text), &ParseLimits::default())
        else {
            panic!("test BYE did not parse")
        };
        assert_eq!(s.others_active(0), 2);
        s.focus_bye(&bye, Instant::now());
        s.focus_bye(&bye, Instant::now());
        assert_eq!(s.others_active(0), 1);
        assert_eq!(s.dropped_since(s.epoch), 1);
        assert_eq!(s.active_members(), 5);
        assert_eq!(s.anomalies.snapshot().get("dropped_by_focus"), Some(&1));
    }
}
