//! Digest authentication of requests (RFC 3261 §22, RFC 7616, RFC 8760) against the
//! user directory.
//!
//! Unknown users, disabled users and wrong passwords all get the same answer, after
//! the same amount of hashing, so that the server never tells which users exist.
//! Repeated wrong answers lock the (username, address) pair ([`crate::lockout`]), and
//! authenticated users are held to their request rates ([`crate::user_limits`]).
use crate::lockout::{FailureEffect, Lockout, LockoutConfig};
use crate::user_cache::UserCache;
use crate::user_limits::{LimitedMethod, OverLimit, UserLimits, UserLimitsConfig};
use herald_auth::{Algorithm, Credentials, NonceCheck, NonceManager};
use herald_sip::{HeaderName, Request};
use herald_store::{SharedStore, User};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Registrars challenge with 401/WWW-Authenticate; proxies and other services with
/// 407/Proxy-Authenticate (RFC 3261 §22.2, §22.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeKind {
    Www,
    Proxy,
}

impl ChallengeKind {
    pub fn status(self) -> u16 {
        match self {
            ChallengeKind::Www => 401,
            ChallengeKind::Proxy => 407,
        }
    }
    fn credentials_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::Authorization,
            ChallengeKind::Proxy => HeaderName::ProxyAuthorization,
        }
    }
    pub fn challenge_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::WwwAuthenticate,
            ChallengeKind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }
}

/// A challenge to send: the status and one challenge header value per algorithm,
/// most preferred first (RFC 8760 §2.4).
#[derive(Clone, Debug)]
pub struct Challenge {
    pub status: u16,
    pub header: HeaderName,
    pub values: Vec<String>,
}

#[derive(Clone, Debug)]
pub enum AuthOutcome {
    /// Shared with the directory cache: a user is read once, not copied per request.
    Authenticated(Arc<User>),
    Challenge(Challenge),
    /// Credentials were checked and are wrong, or name no usable account, or the
    /// (username, address) pair is locked out. The same for all of these cases on purpose.
    Forbidden,
    /// The user authenticated but has used up their budget of this method: answer 503
    /// with the reason and `Retry-After` of [`OverLimit`].
    RateLimited(OverLimit),
    /// The user directory could not be read (the store is down or overloaded): answer
    /// 503 with this `Retry-After` rather than a 403 the client would take for a
    /// wrong password.
    Unavailable {
        retry_after_secs: u32,
    },
}

/// `Retry-After` when the user directory cannot be read.
const STORE_RETRY_AFTER_SECS: u32 = 5;

/// Reason phrase of the 503 sent when the user directory cannot be read.
pub const DIRECTORY_UNAVAILABLE: &str = "Service Unavailable (user directory unavailable)";

pub struct Authenticator {
    nonces: NonceManager,
    algorithms: Vec<Algorithm>,
    directory: UserCache,
    /// HA1s checked against when the user does not exist, so the work is the same.
    decoy_md5: String,
    decoy_sha256: String,
    lockout: Lockout,
    limits: UserLimits,
}

impl Authenticator {
    /// `algorithms`: offered in this order (e.g. SHA-256 then MD5). Lockout and per-user
    /// limits start with their defaults (see [`Self::with_lockout`], [`Self::with_user_limits`]).
    pub fn new(store: SharedStore, nonce_lifetime: Duration, algorithms: Vec<Algorithm>) -> Self {
        let decoy_pw: String = format!("{:x}", rand::random::<u128>());
        Authenticator {
            nonces: NonceManager::new(nonce_lifetime),
            algorithms,
            directory: UserCache::new(store),
            decoy_md5: herald_auth::ha1(Algorithm::Md5, "decoy", "decoy", &decoy_pw),
            decoy_sha256: herald_auth::ha1(Algorithm::Sha256, "decoy", "decoy", &decoy_pw),
            lockout: Lockout::new(LockoutConfig::default()),
            limits: UserLimits::new(UserLimitsConfig::default()),
        }
    }

    /// Replaces the failed-password lockout settings.
    pub fn with_lockout(mut self, config: LockoutConfig) -> Self {
        self.lockout = Lockout::new(config);
        self
    }

    /// Replaces the per-user rate limits.
    pub fn with_user_limits(mut self, config: UserLimitsConfig) -> Self {
        self.limits = UserLimits::new(config);
        self
    }

    /// Forgets the cached directory entry of `aor` (after an admin change).
    pub fn invalidate(&self, aor: &str) {
        self.directory.invalidate(aor);
    }

    fn challenge(
        &self,
        kind: ChallengeKind,
        realm: &str,
        client: IpAddr,
        stale: bool,
    ) -> Challenge {
        let nonce = self.nonces.issue(client);
        let values = self
            .algorithms
            .iter()
            .map(|alg| herald_auth::challenge(realm, &nonce, self.nonces.opaque(), *alg, stale))
            .collect();
        Challenge {
            status: kind.status(),
            header: kind.challenge_header(),
            values,
        }
    }

    /// The directory entry of `aor` (cached like the credentials; None when absent or
    /// the store fails).
    pub async fn lookup_user(&self, aor: &str) -> Option<Arc<User>> {
        self.find_user(aor).await.unwrap_or(None)
    }

    /// The directory entry of `aor`, cached; an error when the store cannot answer, so
    /// that an outage is not mistaken for an unknown user (or a wrong password).
    async fn find_user(&self, aor: &str) -> Result<Option<Arc<User>>, herald_store::StoreError> {
        self.directory.get(aor, Instant::now()).await
    }

    /// Picks the Digest credentials for `realm` among the request's credential headers.
    fn credentials(req: &Request, kind: ChallengeKind, realm: &str) -> Option<Credentials> {
        let name = kind.credentials_header();
        req.headers
            .get_all(&name)
            .filter_map(|v| herald_auth::parse_credentials(v).ok())
            .find(|c| c.realm.eq_ignore_ascii_case(realm))
    }

    /// Authenticates `req` for `realm` (the served domain). The digest username is the
    /// user part of the account's address.
    pub async fn authenticate(
        &self,
        req: &Request,
        kind: ChallengeKind,
        realm: &str,
        client: IpAddr,
    ) -> AuthOutcome {
        let Some(creds) = Self::credentials(req, kind, realm) else {
            return AuthOutcome::Challenge(self.challenge(kind, realm, client, false));
        };
        if !self.algorithms.contains(&creds.algorithm) {
            return AuthOutcome::Challenge(self.challenge(kind, realm, client, false));
        }
        let nonce = match self.nonces.verify(&creds.nonce, client, creds.nc) {
            Ok(nonce) => nonce,
            Err(NonceCheck::Stale) => {
                return AuthOutcome::Challenge(self.challenge(kind, realm, client, true));
            }
            Err(_) => {
                return AuthOutcome::Challenge(self.challenge(kind, realm, client, false));
            }
        };
        let now = Instant::now();
        // Everything up to the verdict is the same work whether the user exists, the
        // password is right or the pair is locked: only the verdict differs.
        let locked = self.lockout.is_locked(&creds.username, client, now);
        let aor = format!("{}@{}", creds.username, realm.to_ascii_lowercase());
        let Ok(user) = self.find_user(&aor).await else {
            // Not the client's fault: no failure counted, and it may try again soon.
            return AuthOutcome::Unavailable {
                retry_after_secs: STORE_RETRY_AFTER_SECS,
            };
        };
        let user = user.filter(|u| u.enabled);
        let ha1 = match (&user, creds.algorithm) {
            (Some(u), Algorithm::Md5) => &u.ha1_md5,
            (Some(u), Algorithm::Sha256) => &u.ha1_sha256,
            (None, Algorithm::Md5) => &self.decoy_md5,
            (None, Algorithm::Sha256) => &self.decoy_sha256,
        };
        let response_ok = herald_auth::verify_response(&creds, ha1, req.method.as_str());
        if !response_ok || user.is_none() || locked {
            self.note_failure(&creds.username, client, now);
            return AuthOutcome::Forbidden;
        }
        // Only now burn the nonce count: a wrong guess must not lock a real client out.
        match self.nonces.record(&nonce) {
            NonceCheck::Valid => match user {
                Some(u) => {
                    self.lockout.record_success(&creds.username, client);
                    self.charge(u, &req.method, now)
                }
                None => AuthOutcome::Forbidden,
            },
            NonceCheck::Stale => AuthOutcome::Challenge(self.challenge(kind, realm, client, true)),
            NonceCheck::Invalid | NonceCheck::Replayed => {
                AuthOutcome::Challenge(self.challenge(kind, realm, client, false))
            }
        }
    }

    /// Counts a wrong answer for (username, address); the first lock is logged.
    fn note_failure(&self, username: &str, client: IpAddr, now: Instant) {
        match self.lockout.record_failure(username, client, now) {
            FailureEffect::Counted => {}
            FailureEffect::Locked(lock) => tracing::warn!(
                username = ?username,
                %client,
                lock_secs = lock.as_secs(),
                "too many wrong digest answers: username locked out for this address"
            ),
            FailureEffect::Extended(lock) => tracing::debug!(
                username = ?username,
                %client,
                lock_secs = lock.as_secs(),
                "attempt during a lockout: lock extended"
            ),
        }
    }

    /// Takes one request of `method` from the authenticated user's budget.
    fn charge(&self, user: Arc<User>, method: &herald_sip::Method, now: Instant) -> AuthOutcome {
        let Some(limited) = LimitedMethod::of(method) else {
            return AuthOutcome::Authenticated(user);
        };
        match self.limits.take(&user.aor, limited, now) {
            Ok(()) => AuthOutcome::Authenticated(user),
            Err(over) => {
                tracing::debug!(aor = %user.aor, method = limited.as_str(), "per-user rate exceeded");
                AuthOutcome::RateLimited(over)
            }
        }
    }
}
