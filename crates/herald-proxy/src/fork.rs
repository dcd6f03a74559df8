//! Forking (RFC 3261 §16.5-16.7): one request to every target in parallel, provisional
//! and 2xx responses upstream at once, the best final response chosen when no branch
//! succeeded, losing INVITE branches CANCELed.
use crate::dialogs::Side;
use crate::hop::Hop;
use crate::prepare;
use crate::proxy::Proxy;
use crate::select::{Candidate, best_response, upstream_status};
use crate::wire::BranchEvent;
use herald_sip::{HeaderName, Method, NameAddr, Request, Response, SipStr, Uri};
use herald_transaction::TransactionKey;
use herald_transport::Source;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

/// The server transaction a fork answers, and its request as received.
pub struct Upstream {
    pub key: TransactionKey,
    /// With the top Via stamped (received/rport).
    pub request: Request,
    pub source: Source,
}

/// One place to send the request.
#[derive(Clone, Debug)]
pub struct BranchTarget {
    /// The Request-URI for this branch (the endpoint's Contact); None keeps the
    /// request's own.
    pub uri: Option<Uri>,
    pub hop: Hop,
    /// For logs and metrics.
    pub label: BranchLabel,
}

/// What a branch is called in logs: the endpoint's Contact, or a fixed name. It is
/// written out only when a log line is: formatting a URI for every branch of every
/// message cost about 1 % of a MESSAGE's CPU, for log lines mostly filtered out.
// Unboxed: it lives beside the branch's Option<Uri>, a handful per request; boxing
// would trade the formatting saved for an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum BranchLabel {
    Contact(Uri),
    Named(&'static str),
}

impl fmt::Display for BranchLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BranchLabel::Contact(uri) => uri.fmt(f),
            BranchLabel::Named(name) => f.write_str(name),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ForkOptions {
    /// Insert Record-Route (dialog-creating requests whose dialog we must stay in).
    pub record_route: bool,
    /// How long the branches may take. For INVITE, pending branches are CANCELed
    /// then; for other requests they count as 408 (useful below Timer F so the
    /// caller gets an answer before its own transaction gives up).
    pub timeout: Duration,
    /// Stop at the first 2xx (the other branches go on unobserved).
    pub return_on_2xx: bool,
}

/// How one branch ended: its final status, or None when the fork stopped watching it.
#[derive(Clone, Debug)]
pub struct BranchOutcome {
    pub label: BranchLabel,
    pub status: Option<u16>,
}

#[derive(Debug)]
pub struct ForkResult {
    /// A 2xx went upstream (or, with no upstream, a branch accepted the request).
    pub answered: bool,
    /// With no 2xx: the response chosen for upstream, not sent yet (the caller may
    /// replace it, e.g. store a MESSAGE for later and answer 202).
    pub final_response: Option<Response>,
    /// The upstream CANCELed the request.
    pub cancelled: bool,
    pub branches: Vec<BranchOutcome>,
}

struct Branch {
    target: BranchTarget,
    key: Option<TransactionKey>,
    status: Option<u16>,
    response: Option<Response>,
    /// A final response (or timeout) arrived.
    done: bool,
}

/// After CANCEL (or our timeout) an INVITE branch gets this long to answer 487.
const CANCEL_GRACE: Duration = Duration::from_secs(32);

impl Proxy {
    /// Sends `base` to every target and waits as [`ForkOptions`] say. `base` is the
    /// request as received (or built by us, without Via, when `upstream` is None).
    pub async fn fork(
        &self,
        upstream: Option<&Upstream>,
        base: &Request,
        targets: Vec<BranchTarget>,
        opts: &ForkOptions,
    ) -> ForkResult {
        let invite = base.method == Method::Invite;
        let hash = self.loops.hash(base);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut branches: Vec<Branch> = Vec::with_capacity(targets.len());
        for (index, target) in targets.into_iter().enumerate() {
            let sent_by = self.addrs.sent_by(target.hop.transport, target.hop.remote);
            let via = prepare::via(target.hop.transport, &sent_by, &self.loops.branch(&hash));
            let rr = match (opts.record_route, upstream) {
                (true, Some(up)) => self.record_route(&Hop::from_source(&up.source), &target.hop),
                _ => Vec::new(),
            };
            let req = prepare::branch_request(base, target.uri.as_ref(), via, &rr);
            let dest = target.hop.target(|f| self.wire.transport().flow_alive(f));
            let reliable = target.hop.transport.is_reliable();
            let started = self
                .wire
                .start_client(&req, dest, reliable, index, tx.clone())
                .await;
            let mut branch = Branch {
                target,
                key: None,
                status: None,
                response: None,
                done: false,
            };
            match started {
                Ok(key) => branch.key = Some(key),
                Err(e) => {
                    tracing::debug!(error = %e, label = %branch.target.label, "branch not started");
                    branch.status = Some(503);
                    branch.done = true;
                }
            }
            branches.push(branch);
        }
        drop(tx);

        let cancel = match upstream {
            Some(up) if invite => Some(
                self.cancels
                    .lock()
                    .entry(up.key.clone())
                    .or_insert_with(|| Arc::new(Notify::new()))
                    .clone(),
            ),
            _ => None,
        };
        let mut answered = false;
        let mut cancelled = false;
        let mut cancelling = false;
        let mut deadline = Instant::now() + opts.timeout;

        while branches.iter().any(|b| !b.done) {
            tokio::select! {
                event = rx.recv() => {
                    let Some((index, event)) = event else { break };
                    let Some(branch) = branches.get_mut(index) else { continue };
                    if branch.done {
                        continue;
                    }
                    match event {
                        BranchEvent::Timeout => {
                            branch.status = Some(408);
                            branch.done = true;
                        }
                        BranchEvent::Response(mut resp) => {
                            // Our own Via goes; what is left is the upstream's.
                            resp.headers.remove_first_value(&HeaderName::Via);
                            let status = resp.status;
                            if status < 200 {
                                if status > 100 && invite && let Some(up) = upstream {
                                    self.wire.respond(&up.key, &resp).await;
                                }
                                continue;
                            }
                            branch.status = Some(status);
                            branch.done = true;
                            if status < 300 {
                                let first = !answered;
                                answered = true;
                                if let Some(up) = upstream {
                                    if invite || first {
                                        self.wire.respond(&up.key, &resp).await;
                                    }
                                    if invite && opts.record_route {
                                        self.remember_dialog(up, &branch.target.hop, &resp);
                                    }
                                }
                                if invite && first {
                                    // First 2xx wins: the other devices stop ringing.
                                    self.cancel_pending(&branches).await;
                                }
                                if opts.return_on_2xx {
                                    break;
                                }
                            } else {
                                if status >= 600 && invite {
                                    self.cancel_pending(&branches).await;
                                }
                                if let Some(b) = branches.get_mut(index) {
                                    b.response = Some(resp);
                                }
                            }
                        }
                    }
                }
                _ = wait(cancel.as_deref()), if !cancelled => {
                    cancelled = true;
                    self.cancel_pending(&branches).await;
                    deadline = Instant::now() + CANCEL_GRACE;
                    cancelling = true;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if invite && !cancelling {
                        self.cancel_pending(&branches).await;
                        deadline = Instant::now() + CANCEL_GRACE;
                        cancelling = true;
                        continue;
                    }
                    for b in branches.iter_mut().filter(|b| !b.done) {
                        b.status = Some(408);
                        b.done = true;
                    }
                }
            }
        }

        if let Some(up) = upstream.filter(|_| invite) {
            self.cancels.lock().remove(&up.key);
        }
        for b in &branches {
            if let Some(key) = &b.key {
                self.wire.forget_client(key);
            }
        }
        let outcomes = branches
            .iter()
            .map(|b| BranchOutcome {
                label: b.target.label.clone(),
                status: b.status,
            })
            .collect();
        let final_response = if answered {
            None
        } else {
            let original = upstream.map_or(base, |u| &u.request);
            Some(self.choose_final(original, &mut branches, cancelled))
        };
        ForkResult {
            answered,
            final_response,
            cancelled,
            branches: outcomes,
        }
    }

    /// The response for upstream when no branch succeeded.
    fn choose_final(
        &self,
        original: &Request,
        branches: &mut [Branch],
        cancelled: bool,
    ) -> Response {
        if cancelled {
            return self.local_response(original, 487, None);
        }
        let finals: Vec<usize> = branches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.status.is_some_and(|s| s >= 300))
            .map(|(i, _)| i)
            .collect();
        let candidates: Vec<Candidate> = finals
            .iter()
            .filter_map(|i| branches.get(*i))
            .filter_map(|b| {
                Some(Candidate {
                    status: b.status?,
                    from_device: b.response.is_some(),
                })
            })
            .collect();
        let Some(best) = best_response(&candidates).and_then(|i| finals.get(i).copied()) else {
            // No target at all: nobody to reach.
            return self.local_response(original, 480, None);
        };
        // Challenges from every branch go up together (§16.7 item 7).
        let challenges: Vec<(HeaderName, SipStr)> = branches
            .iter()
            .filter_map(|b| b.response.as_ref())
            .filter(|r| r.status == 401 || r.status == 407)
            .flat_map(|r| {
                r.headers
                    .iter()
                    .filter(|h| {
                        h.name == HeaderName::WwwAuthenticate
                            || h.name == HeaderName::ProxyAuthenticate
                    })
                    .map(|h| (h.name.clone(), h.value.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let Some(branch) = branches.get_mut(best) else {
            return self.local_response(original, 500, None);
        };
        match branch.response.take() {
            Some(mut resp) => {
                let status = upstream_status(resp.status);
                if status != resp.status {
                    resp.status = status;
                    resp.reason = SipStr::from_static(herald_sip::response::reason_phrase(status));
                }
                if resp.status == 401 || resp.status == 407 {
                    resp.headers.remove(&HeaderName::WwwAuthenticate);
                    resp.headers.remove(&HeaderName::ProxyAuthenticate);
                    for (name, value) in challenges {
                        resp.headers.push(name, value);
                    }
                }
                resp
            }
            None => {
                let status = upstream_status(branch.status.unwrap_or(408));
                self.local_response(original, status, None)
            }
        }
    }

    async fn cancel_pending(&self, branches: &[Branch]) {
        for b in branches.iter().filter(|b| !b.done) {
            if let Some(key) = &b.key
                && key.is_invite()
            {
                self.wire.cancel_client(key).await;
            }
        }
    }

    /// Our Record-Route entries for a dialog between `caller` and `callee`: one when
    /// both face the same interface, two (RFC 5658) when the transport or address
    /// changes, so each side routes back to the interface it knows.
    pub(crate) fn record_route(&self, caller: &Hop, callee: &Hop) -> Vec<String> {
        let token = self.tokens.encode(caller, callee);
        let toward_caller = self.addrs.sent_by(caller.transport, caller.remote);
        let toward_callee = self.addrs.sent_by(callee.transport, callee.remote);
        let callee_rr = prepare::record_route(callee.transport, &toward_callee, &token);
        if caller.transport == callee.transport && toward_caller == toward_callee {
            return vec![callee_rr];
        }
        let caller_rr = prepare::record_route(caller.transport, &toward_caller, &token);
        // Pushed in this order, the callee-facing entry ends on top.
        vec![caller_rr, callee_rr]
    }

    fn remember_dialog(&self, up: &Upstream, callee_hop: &Hop, resp: &Response) {
        let req = &up.request;
        let (Some(call_id), Ok(from), Ok(to), Ok(cseq)) =
            (req.call_id(), req.from(), resp.to(), req.cseq())
        else {
            return;
        };
        let (Some(caller_tag), Some(callee_tag)) = (from.tag(), to.tag()) else {
            return;
        };
        let contact = |headers: &herald_sip::Headers| -> String {
            headers
                .get(&HeaderName::Contact)
                .and_then(|c| NameAddr::parse(c).ok())
                .map(|c| c.uri.to_string())
                .unwrap_or_default()
        };
        let header = |headers: &herald_sip::Headers, name: HeaderName| {
            headers
                .get(&name)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let caller = Side {
            hop: Hop::from_source(&up.source),
            contact: contact(&req.headers),
            identity: header(&req.headers, HeaderName::From),
            tag: caller_tag.to_owned(),
            cseq: Some(cseq.seq),
        };
        let callee = Side {
            hop: *callee_hop,
            contact: contact(&resp.headers),
            identity: header(&resp.headers, HeaderName::To),
            tag: callee_tag.to_owned(),
            cseq: None,
        };
        self.dialogs.confirmed(call_id.to_owned(), caller, callee);
    }
}

async fn wait(n: Option<&Notify>) {
    match n {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}
