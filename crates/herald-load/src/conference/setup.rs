//! Making the conferences and leaving them.
//!
//! A participant joins by INVITE (to `conf-factory` to create a conference, to the
//! conference URI to join one), answering the focus's 407 with Proxy-Authorization;
//! the 2xx makes the dialog (its Contact is the conference URI, its Record-Route the
//! route set) and is ACKed. Every conference's creator goes first; the others of that
//! conference join once it exists. At the end every participant sends BYE.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use herald_dialog::Dialog;
use herald_sip::message::ParseLimits;
use herald_sip::{HeaderName, Message, Method, Request, Response};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::state::ConferenceState;
use crate::connection::Connection;
use crate::exchange::{ChallengeKind, Target, authenticated, record_failure};
use crate::requests::{OutRequest, token};
use crate::routing::RouteKey;
use crate::stats::{LatencySummary, Outcomes, unix_now};

/// The offer of every INVITE: an IM session (the focus answers it with port 0).
const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                     m=message 9 TCP/MSRP *\r\na=accept-types:text/plain\r\n";

/// What the setup achieved.
#[derive(Clone, Debug, Serialize)]
pub struct SetupReport {
    /// Conferences asked for.
    pub conferences: usize,
    /// Conferences made (the creator's INVITE got a 2xx naming a conference URI).
    pub created: usize,
    /// Participants asked for.
    pub participants: usize,
    /// Participants in a conference (creators included).
    pub joined: usize,
    /// Final answers to the INVITEs (after the 407 round trip) or local failures.
    pub outcomes: Outcomes,
    /// 407 challenges received.
    pub challenges: u64,
    /// Seconds from the first INVITE until every one was answered.
    pub duration_s: f64,
    /// Participants joined per second.
    pub joins_per_s: f64,
    /// Time from a participant's first INVITE to its 2xx.
    pub join_time: LatencySummary,
    /// Wall-clock end of the setup (Unix seconds).
    pub end_unix_s: f64,
}

/// Results gathered by the setup tasks.
#[derive(Default)]
struct SetupTally {
    outcomes: Outcomes,
    join_times: Vec<Duration>,
}

/// Makes every conference and fills it; `concurrency` INVITEs in flight at most.
pub async fn set_up(
    state: &Arc<ConferenceState>,
    conns: &Arc<Vec<Arc<Connection>>>,
    concurrency: usize,
) -> SetupReport {
    let started = Instant::now();
    let challenges_before = state.challenges.load(Ordering::Relaxed);
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let tally = Arc::new(Mutex::new(SetupTally::default()));
    let mut conferences = tokio::task::JoinSet::new();
    for conference in 0..state.layout.conferences() {
        let (state, conns, permits, tally) =
            (state.clone(), conns.clone(), permits.clone(), tally.clone());
        conferences.spawn(async move {
            fill_conference(&state, &conns, conference, &permits, &tally).await;
        });
    }
    while conferences.join_next().await.is_some() {}
    let duration = started.elapsed();
    let mut tally = std::mem::take(&mut *tally.lock());
    let joined = state.active_members();
    SetupReport {
        conferences: state.layout.conferences(),
        created: state.uris.iter().filter(|u| u.get().is_some()).count(),
        participants: state.layout.users(),
        joined,
        outcomes: tally.outcomes,
        challenges: state.challenges.load(Ordering::Relaxed) - challenges_before,
        duration_s: duration.as_secs_f64(),
        joins_per_s: joined as f64 / duration.as_secs_f64().max(1e-9),
        join_time: LatencySummary::of(&mut tally.join_times),
        end_unix_s: unix_now(),
    }
}

/// The creator makes `conference`, then the others join it all at once (within the
/// shared limit).
async fn fill_conference(
    state: &Arc<ConferenceState>,
    conns: &Arc<Vec<Arc<Connection>>>,
    conference: usize,
    permits: &Arc<Semaphore>,
    tally: &Arc<Mutex<SetupTally>>,
) {
    let Some(creator) = state.layout.creator(conference) else {
        return;
    };
    let factory = format!("sip:{}@{}", "conf-factory", state.population.domain());
    let made = {
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        join_one(state, conns, creator, &factory, tally).await
    };
    let Some(uri) = made else {
        return;
    };
    if !is_conference_uri(&uri) {
        state.anomalies.record(
            crate::anomalies::Anomaly::FailureAnswer,
            format!("conference {conference}: the focus's Contact {uri:?} is no conference URI"),
        );
    }
    let _ = state.uris.get(conference).map(|slot| slot.set(uri.clone()));
    let mut joins = tokio::task::JoinSet::new();
    for slot in 1..state.layout.participants() {
        let Some(user) = state.layout.user(conference, slot) else {
            continue;
        };
        let (state, conns, permits, tally, uri) = (
            state.clone(),
            conns.clone(),
            permits.clone(),
            tally.clone(),
            uri.clone(),
        );
        joins.spawn(async move {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            join_one(&state, &conns, user, &uri, &tally).await;
        });
    }
    while joins.join_next().await.is_some() {}
}

/// `sip:conf-<32 hex>@...`.
fn is_conference_uri(uri: &str) -> bool {
    uri.strip_prefix("sip:")
        .and_then(|rest| rest.split_once('@'))
        .and_then(|(user, _)| user.strip_prefix("conf-"))
        .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `user` sends INVITE to `target`; on a 2xx the dialog is kept and ACKed. Returns the
/// focus's Contact URI (the conference URI) when it joined.
async fn join_one(
    state: &ConferenceState,
    conns: &[Arc<Connection>],
    user: usize,
    target: &str,
    tally: &Mutex<SetupTally>,
) -> Option<String> {
    let (Some(conn), Some(member)) = (state.connection_of(conns, user), state.members.get(user))
    else {
        return None;
    };
    let from = state.population.uri(user);
    let from_tag = token();
    let call_id = format!("{user}.{}", token());
    let local = conn.local();
    let contact = format!(
        "<sip:{}@{local};transport=tcp>",
        state.population.name(user)
    );
    let accept = if state.settings.cpim {
        "application/sdp, message/cpim, text/plain"
    } else {
        "application/sdp, text/plain"
    };
    let last_sent: Mutex<Option<Bytes>> = Mutex::new(None);
    let build = |cseq: u32, authorization: Option<&str>| {
        let branch = token();
        let mut headers: Vec<(&str, &str)> = vec![("Contact", &contact), ("Accept", accept)];
        if let Some(a) = authorization {
            headers.push((ChallengeKind::Proxy.credentials_header(), a));
        }
        let bytes = OutRequest {
            method: "INVITE",
            uri: target,
            from: &from,
            from_tag: &from_tag,
            call_id: &call_id,
            cseq,
            branch: &branch,
            local,
            headers: &headers,
            body: Some(("application/sdp", OFFER.as_bytes())),
        }
        .to_bytes();
        *last_sent.lock() = Some(bytes.clone());
        bytes
    };
    let invite_target = Target {
        user,
        method: "INVITE",
        uri: target,
        call_id: &call_id,
        kind: ChallengeKind::Proxy,
    };
    let started = Instant::now();
    let mut cseq = 0;
    let result = authenticated(state, conn, invite_target, &mut cseq, &build).await;
    let response = match result {
        Ok(response) => response,
        Err(e) => {
            tally.lock().outcomes.add(e.as_str());
            return None;
        }
    };
    tally.lock().outcomes.add(&response.status.to_string());
    if !(200..300).contains(&response.status) {
        record_failure(&state.anomalies, invite_target, &response);
        return None;
    }
    let sent = last_sent.lock().take();
    let dialog = sent.and_then(|bytes| dialog_of(bytes, &response));
    let Some(dialog) = dialog else {
        state.anomalies.record(
            crate::anomalies::Anomaly::FailureAnswer,
            format!(
                "2xx to INVITE {target} makes no dialog:\n{}",
                String::from_utf8_lossy(&response.to_bytes())
            ),
        );
        return None;
    };
    if let Some(ack) = dialog.ack(cseq) {
        conn.send(finish(ack, conn.local(), None));
    }
    let uri = dialog.remote_target.clone();
    *member.dialog.lock() = Some(dialog);
    let _ = member.call_id.set(call_id);
    tally.lock().join_times.push(started.elapsed());
    Some(uri)
}

/// The dialog made by `response` to the INVITE `sent`.
fn dialog_of(sent: Bytes, response: &Response) -> Option<Dialog> {
    match Message::parse(sent, &ParseLimits::default()) {
        Ok(Message::Request(invite)) => Dialog::as_uac(&invite, response).ok(),
        _ => None,
    }
}

/// An in-dialog request from [`Dialog`] made ready to send from `local` (TCP): Via
/// with a new branch, Max-Forwards, and the body with its type.
pub fn finish(mut request: Request, local: SocketAddr, body: Option<(&str, Bytes)>) -> Bytes {
    request.headers.push_front(
        HeaderName::Via,
        format!("SIP/2.0/TCP {local};branch=z9hG4bK{};rport", token()),
    );
    request.headers.push(HeaderName::MaxForwards, "70");
    if let Some((content_type, body)) = body {
        request
            .headers
            .push(HeaderName::ContentType, content_type.to_owned());
        request.body = body;
    }
    request.to_bytes()
}

/// Every participant still in its conference sends BYE; the final answers.
pub async fn leave_all(
    state: &Arc<ConferenceState>,
    conns: &Arc<Vec<Arc<Connection>>>,
    concurrency: usize,
) -> Outcomes {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for user in 0..state.members.len() {
        let (state, conns, permits) = (state.clone(), conns.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire().await.ok()?;
            leave_one(&state, &conns, user).await
        });
    }
    let mut outcomes = Outcomes::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(outcome)) = done {
            outcomes.add(&outcome);
        }
    }
    outcomes
}

/// `user`'s BYE, if it is still in a conference: the outcome.
async fn leave_one(
    state: &ConferenceState,
    conns: &[Arc<Connection>],
    user: usize,
) -> Option<String> {
    let member = state.members.get(user)?;
    let conn = state.connection_of(conns, user)?;
    if !member.active() || member.gone.swap(true, Ordering::AcqRel) {
        return None;
    }
    let request = member.dialog.lock().as_mut()?.request(Method::Bye)?;
    let key = RouteKey {
        call_id: member.call_id.get()?.clone(),
        cseq: request.cseq().ok()?.seq,
    };
    let bytes = finish(request, conn.local(), None);
    Some(
        match conn
            .request(key, bytes, state.settings.request_timeout)
            .await
        {
            Ok(response) => response.status.to_string(),
            Err(e) => e.as_str().to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conference_uris() {
        assert!(is_conference_uri(
            "sip:conf-0123456789abcdef0123456789ABCDEF@bench.test"
        ));
        assert!(!is_conference_uri("sip:conf-factory@bench.test"));
        assert!(!is_conference_uri("sip:conf-0123@bench.test"));
        assert!(!is_conference_uri("sip:u00001@bench.test"));
        assert!(!is_conference_uri("conf-0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn the_dialog_comes_from_the_invite_and_its_2xx() {
        let invite = OutRequest {
            method: "INVITE",
            uri: "sip:conf-factory@bench.test",
            from: "sip:u00000@bench.test",
            from_tag: "mine",
            call_id: "0.abc",
            cseq: 2,
            branch: "b2",
            local: "127.0.0.1:40000".parse().expect("addr"),
            headers: &[],
            body: None,
        }
        .to_bytes();
        let ok = "SIP/2.0 200 OK\r\n\
            Via: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKb2\r\n\
            Record-Route: <sip:127.0.0.1:5062;transport=tcp;lr>\r\n\
            From: <sip:u00000@bench.test>;tag=mine\r\n\
            To: <sip:conf-factory@bench.test>;tag=focus\r\n\
            Call-ID: 0.abc\r\nCSeq: 2 INVITE\r\n\
            Contact: <sip:conf-0123456789abcdef0123456789abcdef@bench.test>;isfocus\r\n\
            Content-Length: 0\r\n\r\n";
        let Ok(Message::Response(ok)) = Message::parse(Bytes::from(ok), &ParseLimits::default())
        else {
            panic!("test 200 did not parse")
        };
        let mut dialog = dialog_of(invite, &ok).expect("dialog");
        assert_eq!(
            dialog.remote_target,
            "sip:conf-0123456789abcdef0123456789abcdef@bench.test"
        );
        assert_eq!(
            dialog.route_set,
            vec!["<sip:127.0.0.1:5062;transport=tcp;lr>"]
        );
        let ack = dialog.ack(2).expect("ack");
        assert_eq!(ack.cseq().expect("cseq").seq, 2);
        assert_eq!(ack.to().expect("to").tag(), Some("focus"));
        let message = dialog.request(Method::Message).expect("message");
        assert_eq!(message.cseq().expect("cseq").seq, 3);
        assert_eq!(message.from().expect("from").tag(), Some("mine"));
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let bytes = finish(
            message,
            local,
            Some(("text/plain", Bytes::from_static(b"hi"))),
        );
        let Ok(Message::Request(sent)) = Message::parse(bytes, &ParseLimits::default()) else {
            panic!("finished request did not parse")
        };
        assert_eq!(
            sent.uri.to_string(),
            "sip:conf-0123456789abcdef0123456789abcdef@bench.test"
        );
        assert!(
            sent.top_via()
                .expect("via")
                .branch()
                .is_some_and(|b| b.starts_with("z9hG4bK"))
        );
        assert_eq!(sent.max_forwards(), Some(70));
        assert_eq!(
            sent.headers.get(&HeaderName::Route).map(|v| v.as_str()),
            Some("<sip:127.0.0.1:5062;transport=tcp;lr>")
        );
        assert_eq!(sent.media_type(), Some("text/plain"));
        assert_eq!(&sent.body[..], b"hi");
    }
}
