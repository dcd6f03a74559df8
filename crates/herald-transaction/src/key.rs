//! Transaction identity: which transaction a message belongs to (RFC 3261 §17.1.3 for
//! responses at a client, §17.2.3 for requests at a server).
use crate::error::TransactionError;
use herald_sip::{
    HeaderName, Method, ParseError, Request, Response, SipStr, uri::Host, via::BRANCH_MAGIC,
};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::LazyLock;

/// Which matching rule built the key. Server and client keys never compare equal, so a
/// request that loops back to us does not hit our own client transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Rule {
    /// §17.2.3: branch + sent-by + method.
    Server,
    /// §17.2.3 fallback for RFC 2543 peers (no magic cookie in the branch).
    LegacyServer,
    /// §17.1.3: branch + CSeq method.
    Client,
}

/// Separates the fields packed into [`TransactionKey::id`]: a line break cannot occur in
/// any header value once folding is undone, so fields can never run into each other.
const SEP: char = '\n';

/// Identifies one transaction.
///
/// RFC 3261 §17.2.3 matching: a branch with the magic cookie gives (branch, sent-by
/// host:port, method with ACK mapped to INVITE); otherwise the RFC 2543 fallback key is
/// built from Request-URI, To tag, From tag, Call-ID, CSeq number and the top Via (RFC 4475
/// `badbranch`/`inv2543` still match their retransmissions). CANCEL has its own
/// transaction (method CANCEL) and finds the INVITE it cancels with
/// [`TransactionKey::for_cancelled_invite`].
///
/// The fields are copied into one small buffer, so a key never pins the receive buffer
/// of the message it came from, and cloning it is a reference-count bump.
///
/// The key carries its own hash, computed once when it is made. The tables of live and
/// completed transactions turn over their whole content every 32 s; when such a table
/// rehashes (growing, or clearing the tombstones the churn leaves), each entry's hash
/// is then read from the entry instead of recomputed from the fields behind a pointer
/// (at 7 000 MESSAGE/s a shard holds about 30 000 keys, and every request waits while
/// its table rehashes).
#[derive(Clone, Debug)]
pub struct TransactionKey {
    rule: Rule,
    method: Method,
    /// The rule's fields joined by [`SEP`]. The first field is the one shared by an
    /// INVITE, its ACK and its CANCEL (branch or Call-ID): the driver shards on it.
    id: SipStr,
    /// Keyed hash of the three fields above (see [`KeyHasher`]).
    hash: u64,
}

/// Seeds the hash of every key with per-process random keys, so that a client choosing
/// branches cannot aim them all at one bucket.
static KEY_SEED: LazyLock<RandomState> = LazyLock::new(RandomState::new);

impl PartialEq for TransactionKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.rule == other.rule
            && self.method == other.method
            && self.id == other.id
    }
}

impl Eq for TransactionKey {}

impl Hash for TransactionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Hasher for maps whose keys are, or carry, keyed hashes already ([`TransactionKey`],
/// the fingerprints of merged-request detection): the `u64`s written are combined as
/// they are, with no further hashing.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for other key types; stays correct, if slower.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// Builds [`KeyHasher`]s, e.g. `HashMap<TransactionKey, V, KeyHash>`.
pub type KeyHash = BuildHasherDefault<KeyHasher>;

impl TransactionKey {
    fn new(rule: Rule, method: Method, id: SipStr) -> TransactionKey {
        let hash = KEY_SEED.hash_one((rule, &method, id.as_str()));
        TransactionKey {
            rule,
            method,
            id,
            hash,
        }
    }

    /// The server transaction `req` belongs to (or would create).
    pub fn for_request(req: &Request) -> Result<TransactionKey, ParseError> {
        let method = match &req.method {
            Method::Ack => Method::Invite,
            other => owned_method(other),
        };
        server_key(req, method)
    }

    /// The INVITE server transaction a CANCEL request targets (§9.2: same matching as the
    /// CANCEL's own transaction, with the method INVITE).
    pub fn for_cancelled_invite(cancel: &Request) -> Result<TransactionKey, ParseError> {
        server_key(cancel, Method::Invite)
    }

    /// Client side: the transaction a response belongs to (top Via branch + CSeq method).
    pub fn for_response(resp: &Response) -> Result<TransactionKey, ParseError> {
        let via = resp.top_via()?;
        let branch = via
            .branch()
            .ok_or_else(|| ParseError::drop("response top Via has no branch"))?;
        let method = resp.cseq()?.method;
        Ok(TransactionKey::client(branch, &method))
    }

    /// Client side: the transaction a request we send starts. Our own requests always
    /// carry an RFC 3261 branch, so there is no fallback here.
    pub(crate) fn for_client_request(req: &Request) -> Result<TransactionKey, TransactionError> {
        let via = req.top_via()?;
        match via.branch() {
            Some(branch) if is_rfc3261_branch(branch) => {
                Ok(TransactionKey::client(branch, &req.method))
            }
            _ => Err(TransactionError::NotRfc3261Branch),
        }
    }

    /// The CANCEL client transaction for this INVITE client transaction (same branch, §9.1).
    pub(crate) fn cancel_of(&self) -> TransactionKey {
        TransactionKey::new(self.rule, Method::Cancel, self.id.clone())
    }

    fn client(branch: &str, method: &Method) -> TransactionKey {
        TransactionKey::new(
            Rule::Client,
            owned_method(method),
            SipStr::from(branch.to_owned()),
        )
    }

    /// The transaction's method (INVITE for an ACK's key; CANCEL for a CANCEL's own key).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// True for INVITE transactions (which have their own state machines).
    pub fn is_invite(&self) -> bool {
        self.method == Method::Invite
    }

    /// True for client transactions (requests we sent), false for server transactions.
    pub fn is_client(&self) -> bool {
        self.rule == Rule::Client
    }

    /// The part of the key an INVITE shares with its ACK and CANCEL: keys that must meet
    /// in one place (the driver's shard) agree on it.
    pub(crate) fn affinity(&self) -> &str {
        let id = self.id.as_str();
        id.split(SEP).next().unwrap_or(id)
    }
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.rule {
            Rule::Server => "server",
            Rule::LegacyServer => "server(2543)",
            Rule::Client => "client",
        };
        write!(f, "{side} {} ", self.method.as_str())?;
        for (i, field) in self.id.split(SEP).enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            f.write_str(field)?;
        }
        Ok(())
    }
}

/// A branch that is unique by RFC 3261 rules. A branch that is only the cookie (RFC 4475
/// `badbranch`) identifies nothing, so it falls back to RFC 2543 matching.
pub(crate) fn is_rfc3261_branch(branch: &str) -> bool {
    branch.len() > BRANCH_MAGIC.len() && branch.starts_with(BRANCH_MAGIC)
}

fn server_key(req: &Request, method: Method) -> Result<TransactionKey, ParseError> {
    let via = req.top_via()?;
    match via.branch() {
        Some(branch) if is_rfc3261_branch(branch) => {
            let mut id = String::with_capacity(branch.len() + 48);
            id.push_str(branch);
            id.push(SEP);
            push_sent_by(&mut id, &via.host, via.port);
            // Kept for Timer J on UDP: no slack beyond the fields.
            id.shrink_to_fit();
            Ok(TransactionKey::new(Rule::Server, method, SipStr::from(id)))
        }
        _ => legacy_server_key(req, method),
    }
}

/// §17.2.3 for RFC 2543 requests. The To tag is left out of INVITE keys: the INVITE has
/// none yet while its ACK carries the tag of our response, and a CANCEL copies the
/// INVITE's To, so leaving it out is what lets all three meet.
fn legacy_server_key(req: &Request, method: Method) -> Result<TransactionKey, ParseError> {
    let call_id = req
        .call_id()
        .ok_or_else(|| ParseError::bad("missing Call-ID"))?;
    let seq = req.cseq()?.seq;
    let from = req.from()?;
    let top_via = req
        .headers
        .values(&HeaderName::Via)
        .into_iter()
        .next()
        .ok_or_else(|| ParseError::bad("missing Via"))?;
    let to_tag = if method == Method::Invite {
        None
    } else {
        req.to()?.tag().map(str::to_owned)
    };

    let mut uri = Vec::with_capacity(64);
    req.uri.write_to(&mut uri);

    let mut id = String::with_capacity(call_id.len() + uri.len() + top_via.len() + 48);
    id.push_str(call_id);
    id.push(SEP);
    id.push_str(&seq.to_string());
    id.push(SEP);
    id.push_str(from.tag().unwrap_or(""));
    id.push(SEP);
    id.push_str(&String::from_utf8_lossy(&uri));
    id.push(SEP);
    id.push_str(&top_via);
    id.push(SEP);
    id.push_str(to_tag.as_deref().unwrap_or(""));
    Ok(TransactionKey::new(
        Rule::LegacyServer,
        method,
        SipStr::from(id),
    ))
}

/// sent-by as `host[:port]`; domain names compare case-insensitively (§19.1.4 rules for
/// hosts), so they are lower-cased.
fn push_sent_by(out: &mut String, host: &Host, port: Option<u16>) {
    match host {
        Host::Domain(name) => out.extend(name.chars().map(|c| c.to_ascii_lowercase())),
        Host::Ip(ip) => herald_sip::digits::push_ip_str(out, *ip),
    }
    if let Some(port) = port {
        out.push(':');
        herald_sip::digits::push_decimal_str(out, port);
    }
}

/// A copy of an extension method's name that does not share the receive buffer.
fn owned_method(method: &Method) -> Method {
    match method {
        Method::Other(name) => Method::Other(SipStr::from(name.as_str().to_owned())),
        known => known.clone(),
    }
}
