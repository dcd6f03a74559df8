//! One out-of-dialog request of a user, with its digest round trips: credentials go up
//! front once the user holds a nonce; a 401 (first contact, stale or evicted nonce)
//! brings a new challenge and the request is sent again with the next CSeq.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use herald_sip::{HeaderName, Response};

use crate::anomalies::Anomaly;
use crate::connection::{Connection, RequestError};
use crate::digest::pick_challenge;
use crate::requests::token;
use crate::routing::RouteKey;
use crate::state::PresenceState;

/// Challenges answered for one request before its 401 is taken as final.
const MAX_CHALLENGES: u32 = 3;

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
}

/// `target`'s request on `conn`. `cseq` is the number of the last request sent in this
/// Call-ID (0 at first) and is advanced for every send; `build(cseq, authorization)`
/// writes the request.
pub async fn authenticated(
    state: &PresenceState,
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
    } = target;
    let Some(account) = state.users.get(user) else {
        return Err(RequestError::Closed);
    };
    let mut challenges = 0;
    loop {
        *cseq += 1;
        // The phases keep each user's requests sequential, so nonce counts reach the
        // server in the order they are made here.
        let response = {
            let authorization = account
                .state
                .lock()
                .digest
                .authorization(method, uri, &token());
            // `build` may lock the user's state itself (PUBLISH reads its entity tag).
            let bytes = build(*cseq, authorization.as_deref());
            let key = RouteKey {
                call_id: call_id.to_owned(),
                cseq: *cseq,
            };
            conn.request(key, bytes, state.request_timeout).await?
        };
        if response.status != 401 || challenges >= MAX_CHALLENGES {
            return Ok(response);
        }
        challenges += 1;
        state.challenges.fetch_add(1, Ordering::Relaxed);
        let challenge = pick_challenge(
            response
                .headers
                .get_all(&HeaderName::WwwAuthenticate)
                .map(|v| v.as_str()),
        );
        let Some(challenge) = challenge else {
            state.anomalies.record(
                Anomaly::BadChallenge,
                format!(
                    "401 to {method} without a usable challenge: {:?}",
                    response
                        .headers
                        .get_all(&HeaderName::WwwAuthenticate)
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                ),
            );
            return Ok(response);
        };
        account
            .state
            .lock()
            .digest
            .accept(challenge, &state.password);
    }
}

/// Counts a final failure answer, logging the first few whole (the server's reason
/// and Warning say why).
pub fn record_failure(state: &PresenceState, target: Target<'_>, response: &Response) {
    state.anomalies.record(
        Anomaly::FailureAnswer,
        format!(
            "{} {} answered:\n{}",
            target.method,
            target.uri,
            String::from_utf8_lossy(&response.to_bytes())
        ),
    );
}
