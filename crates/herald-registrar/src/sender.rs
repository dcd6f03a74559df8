//! Who sent a request that is not a REGISTER (MESSAGE, INVITE, PUBLISH, SUBSCRIBE):
//! an enabled user of ours, authenticated, writing as themselves. One rule for every
//! service, so IM and presence refuse the same senders with the same answers.
use crate::authn::{AuthOutcome, Authenticator, ChallengeKind};
use crate::domains::ServedDomains;
use herald_sip::{HeaderName, Request};
use std::net::IpAddr;

/// Why a sender was not accepted: the answer to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: Option<&'static str>,
    /// The challenge headers of a 401/407.
    pub headers: Vec<(HeaderName, String)>,
}

impl Refusal {
    fn new(status: u16, reason: Option<&'static str>) -> Self {
        Refusal {
            status,
            reason,
            headers: Vec::new(),
        }
    }
}

impl Authenticator {
    /// The AOR of the sender of `req` when its From is a user of ours who proved to be
    /// that user (challenged with `kind`); otherwise the answer to give: 400 for a bad
    /// From, 403 for a foreign sender or a From that is not the authenticated user, the
    /// challenge, 403 for wrong credentials (or a locked-out pair), or 503 with
    /// Retry-After when the user is over their rate for the method.
    pub async fn authenticate_sender(
        &self,
        req: &Request,
        kind: ChallengeKind,
        domains: &ServedDomains,
        client: IpAddr,
    ) -> Result<String, Refusal> {
        let from = req
            .from()
            .map_err(|_| Refusal::new(400, Some("Bad Request (From)")))?;
        let from_aor = domains.local_aor(&from.uri).ok_or(Refusal::new(
            403,
            Some("Forbidden (sender is not a user of this server)"),
        ))?;
        let realm = from_aor
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        match self.authenticate(req, kind, &realm, client).await {
            AuthOutcome::Authenticated(user) if user.aor == from_aor => Ok(from_aor),
            AuthOutcome::Authenticated(_) => Err(Refusal::new(
                403,
                Some("Forbidden (From does not match the authenticated user)"),
            )),
            AuthOutcome::Challenge(ch) => Err(Refusal {
                status: ch.status,
                reason: None,
                headers: ch
                    .values
                    .into_iter()
                    .map(|v| (ch.header.clone(), v))
                    .collect(),
            }),
            AuthOutcome::Forbidden => Err(Refusal::new(403, None)),
            AuthOutcome::RateLimited(over) => Err(Refusal {
                status: 503,
                reason: Some(over.method.reason()),
                headers: vec![(HeaderName::RetryAfter, over.retry_after_secs().to_string())],
            }),
            AuthOutcome::Unavailable { retry_after_secs } => Err(Refusal {
                status: 503,
                reason: Some(crate::authn::DIRECTORY_UNAVAILABLE),
                headers: vec![(HeaderName::RetryAfter, retry_after_secs.to_string())],
            }),
        }
    }
}
