//! One out-of-dialog request of a user, with its digest round trips: credentials go up
//! front once the user holds a nonce; a challenge (first contact, stale or evicted
//! nonce) brings a new nonce and the request is sent again with the next CSeq. The
//! server challenges as a registrar/UAS (401, `WWW-Authenticate`: SUBSCRIBE, PUBLISH)
//! or as a proxy (407, `Proxy-Authenticate`: INVITE); each scenario says which.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use herald_sip::{HeaderName, Response};

use crate::anomalies::{Anomalies, Anomaly};
use crate::connection::{Connection, RequestError};
use crate::digest::{DigestSession, pick_challenge};
use crate::requests::{ack_for_failure, token};
use crate::routing::RouteKey;

/// Challenges answered for one request before its challenge is taken as final.
const MAX_CHALLENGES: u32 = 3;

/// What a scenario's shared state lends to [`authenticated`]: the users' digest
/// state and the run's settings and counters.
pub trait Requester: Sync {
    /// Runs `f` on `user`'s digest state (locked); `None` for an unknown user.
    fn with_digest<R>(&self, user: usize, f: impl FnOnce(&mut DigestSession) -> R) -> Option<R>;
    /// The password of every user.
    fn password(&self) -> &str;
    /// How long a request waits for its final response.
    fn request_timeout(&self) -> Duration;
    /// Challenges received, all requests together.
    fn challenges(&self) -> &AtomicU64;
    /// Unexpected input.
    fn anomalies(&self) -> &Anomalies;
}

/// How the server challenges a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeKind {
    /// 401 with `WWW-Authenticate`, answered in `Authorization`.
    Server,
    /// 407 with `Proxy-Authenticate`, answered in `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    /// The status code that challenges.
    pub fn status(self) -> u16 {
        match self {
            ChallengeKind::Server => 401,
            ChallengeKind::Proxy => 407,
        }
    }

    /// The header carrying the challenge.
    pub fn challenge_header(self) -> HeaderName {
        match self {
            ChallengeKind::Server => HeaderName::WwwAuthenticate,
            ChallengeKind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The name of the header carrying the credentials.
    pub fn credentials_header(self) -> &'static str {
        match self {
            ChallengeKind::Server => "Authorization",
            ChallengeKind::Proxy => "Proxy-Authorization",
        }
    }
}

/// Who sends what to whom.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The sending user (whose credentials are used).
    pub user: usize,
    /// Method name.
    pub method: &'a str,
    /// Request-URI (the digest-uri).
    pub uri: &'a str,
    /// Call-ID shared by the retries.
    pub call_id: &'a str,
    /// How the server challenges this request.
    pub kind: ChallengeKind,
}

/// `target`'s request on `conn`. `cseq` is the number of the last request sent in this
/// Call-ID (0 at first) and is advanced for every send; `build(cseq, authorization)`
/// writes the request with `authorization` in the header `target.kind` names.
pub async fn authenticated<S: Requester>(
    state: &S,
    conn: &Connection,
    target: Target<'_>,
    cseq: &mut u32,
    build: &(dyn Fn(u32, Option<&str>) -> Bytes + Sync),
) -> Result<Response, RequestError> {
    let Target {
        user,
        method,
        uri,
        call_id,
        kind,
    } = target;
    let mut challenges = 0;
    loop {
        *cseq += 1;
        // The phases keep each user's requests sequential, so nonce counts reach the
        // server in the order they are made here.
        let response = {
            let Some(authorization) =
                state.with_digest(user, |digest| digest.authorization(method, uri, &token()))
            else {
                return Err(RequestError::Closed);
            };
            // `build` may lock the user's state itself (PUBLISH reads its entity tag).
            let bytes = build(*cseq, authorization.as_deref());
            let key = RouteKey {
                call_id: call_id.to_owned(),
                cseq: *cseq,
            };
            let response = conn
                .request(key, bytes.clone(), state.request_timeout())
                .await?;
            if method == "INVITE" && response.status >= 300 {
                ack_failure(state, conn, &bytes, &response);
            }
            response
        };
        if response.status != kind.status() || challenges >= MAX_CHALLENGES {
            return Ok(response);
        }
        challenges += 1;
        state.challenges().fetch_add(1, Ordering::Relaxed);
        let header = kind.challenge_header();
        let challenge = pick_challenge(response.headers.get_all(&header).map(|v| v.as_str()));
        let Some(challenge) = challenge else {
            state.anomalies().record(
                Anomaly::BadChallenge,
                format!(
                    "{} to {method} without a usable challenge: {:?}",
                    response.status,
                    response
                        .headers
                        .get_all(&header)
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                ),
            );
            return Ok(response);
        };
        let password = state.password();
        state.with_digest(user, |digest| digest.accept(challenge, password));
    }
}

/// The ACK that ends an INVITE transaction answered with a failure (a challenge
/// included): without it the server keeps the transaction until its timer runs out.
fn ack_failure<S: Requester>(state: &S, conn: &Connection, invite: &Bytes, answer: &Response) {
    let limits = herald_sip::message::ParseLimits::default();
    let ack = match herald_sip::Message::parse(invite.clone(), &limits) {
        Ok(herald_sip::Message::Request(invite)) => ack_for_failure(&invite, answer),
        _ => None,
    };
    match ack {
        Some(ack) => {
            conn.send(ack);
        }
        None => state.anomalies().record(
            Anomaly::Unparseable,
            "cannot build the ACK of an INVITE this tool wrote",
        ),
    }
}

/// Counts a final failure answer, logging the first few whole (the server's reason
/// and Warning say why).
pub fn record_failure(anomalies: &Anomalies, target: Target<'_>, response: &Response) {
    anomalies.record(
        Anomaly::FailureAnswer,
        format!(
            "{} {} answered:\n{}",
            target.method,
            target.uri,
            String::from_utf8_lossy(&response.to_bytes())
        ),
    );
}
