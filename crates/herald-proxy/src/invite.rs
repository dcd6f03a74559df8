//! An INVITE the server sends on its own behalf (the conference focus inviting a user)
//! to every endpoint of a user at once, like a forking proxy would: the first 2xx wins,
//! the other branches are CANCELed, a 2xx that arrives too late is ACKed and ended
//! with BYE. The ACK of the winner is the caller's (it carries the SDP answer), and is
//! sent again for each retransmission of the 2xx while the transaction lasts.
use crate::hop::Hop;
use crate::prepare;
use crate::proxy::Proxy;
use crate::wire::BranchEvent;
use herald_dialog::Dialog;
use herald_sip::{HeaderName, Method, Request, Response, Uri};
use herald_transaction::TransactionKey;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One endpoint to ring: its Contact URI and how it is reached.
#[derive(Clone, Debug)]
pub struct InviteTarget {
    pub uri: Uri,
    pub hop: Hop,
}

/// What became of the INVITE.
#[derive(Debug)]
pub enum Invited {
    /// An endpoint answered 2xx: the request as it went to it (Via included) and its
    /// 2xx. The dialog is made from these two; the ACK went out already.
    Answered(Box<Answered>),
    /// Nobody answered 2xx: the best final status (408 when no one answered at all).
    Declined(u16),
}

/// Builds the ACK for a 2xx to the request (the caller's SDP answer goes in it).
pub type MakeAck = Arc<dyn Fn(&Request, &Response) -> Option<Request> + Send + Sync>;

/// The endpoint that answered.
#[derive(Debug)]
pub struct Answered {
    pub request: Request,
    pub response: Response,
    pub hop: Hop,
}

/// How long a late 2xx is still looked for after the winner (Timer L, 64·T1).
const LINGER: Duration = Duration::from_secs(32);

struct Branch {
    request: Request,
    hop: Hop,
    key: Option<TransactionKey>,
    provisional: bool,
    done: bool,
}

impl Proxy {
    /// Sends `invite` (no Via; From tag, Call-ID and CSeq set) to every target, and
    /// CANCELs what still rings after `ring_for`. `make_ack` builds the ACK for a 2xx
    /// (the caller's SDP answer goes in it).
    pub async fn invite_any(
        self: &Arc<Self>,
        invite: Request,
        targets: Vec<InviteTarget>,
        ring_for: Duration,
        make_ack: MakeAck,
    ) -> Invited {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut branches = Vec::with_capacity(targets.len());
        for (index, target) in targets.into_iter().enumerate() {
            let sent_by = self.addrs.sent_by(target.hop.transport, target.hop.remote);
            let branch_id = herald_transaction::new_branch();
            let via = prepare::via(target.hop.transport, &sent_by, &branch_id);
            let request = prepare::branch_request(&invite, Some(&target.uri), via, &[]);
            let dest = target.hop.target(|f| self.wire.transport().flow_alive(f));
            let key = self
                .wire
                .start_client(
                    &request,
                    dest,
                    target.hop.transport.is_reliable(),
                    index,
                    tx.clone(),
                )
                .await
                .ok();
            let done = key.is_none();
            branches.push(Branch {
                request,
                hop: target.hop,
                key,
                provisional: false,
                done,
            });
        }
        drop(tx);
        let mut statuses: Vec<u16> = Vec::new();
        let deadline = Instant::now() + ring_for;
        let mut cancelled = false;
        let winner = loop {
            if branches.iter().all(|b| b.done) {
                break None;
            }
            let event = if cancelled {
                tokio::time::timeout(LINGER, rx.recv()).await.ok().flatten()
            } else {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(e) => e,
                    Err(_) => {
                        cancelled = true;
                        self.cancel_ringing(&branches).await;
                        continue;
                    }
                }
            };
            let Some((index, event)) = event else {
                break None;
            };
            let Some(branch) = branches.get_mut(index) else {
                continue;
            };
            match event {
                BranchEvent::Response(resp) if resp.status < 200 => branch.provisional = true,
                BranchEvent::Response(resp) if resp.status < 300 => {
                    branch.done = true;
                    break Some((index, resp));
                }
                BranchEvent::Response(resp) => {
                    branch.done = true;
                    statuses.push(resp.status);
                }
                BranchEvent::Timeout => {
                    branch.done = true;
                    statuses.push(408);
                }
            }
        };
        let Some((index, response)) = winner else {
            self.forget_branches(&branches);
            let best = statuses
                .iter()
                .copied()
                .filter(|s| *s != 408 && *s != 487)
                .min()
                .or_else(|| statuses.first().copied())
                .unwrap_or(408);
            return Invited::Declined(best);
        };
        let Some(won) = branches.get(index) else {
            return Invited::Declined(500);
        };
        let (request, hop) = (won.request.clone(), won.hop);
        self.send_ack(make_ack(&request, &response), &hop).await;
        self.cancel_ringing(&branches).await;
        // The rest of the branches, and retransmissions of the winner's 2xx, are
        // looked after in the background.
        let me = self.clone();
        tokio::spawn(async move {
            me.linger(branches, index, rx, make_ack).await;
        });
        Invited::Answered(Box::new(Answered {
            request,
            response,
            hop,
        }))
    }

    async fn cancel_ringing(&self, branches: &[Branch]) {
        for b in branches.iter().filter(|b| !b.done && b.provisional) {
            if let Some(key) = &b.key {
                self.wire.cancel_client(key).await;
            }
        }
    }

    fn forget_branches(&self, branches: &[Branch]) {
        for key in branches.iter().filter_map(|b| b.key.as_ref()) {
            self.wire.forget_client(key);
        }
    }

    /// After the winner: ACK each retransmission of its 2xx; ACK and BYE a late 2xx
    /// from another endpoint; CANCEL a branch whose first provisional comes late.
    async fn linger(
        &self,
        mut branches: Vec<Branch>,
        winner: usize,
        mut rx: mpsc::UnboundedReceiver<(usize, BranchEvent)>,
        make_ack: MakeAck,
    ) {
        let until = Instant::now() + LINGER;
        while let Ok(Some((index, event))) = tokio::time::timeout_at(until, rx.recv()).await {
            let Some(branch) = branches.get_mut(index) else {
                continue;
            };
            let BranchEvent::Response(resp) = event else {
                branch.done = true;
                continue;
            };
            if resp.status < 200 {
                if !branch.provisional && !branch.done {
                    branch.provisional = true;
                    if let Some(key) = &branch.key {
                        self.wire.cancel_client(key).await;
                    }
                }
                continue;
            }
            branch.done = true;
            if resp.status >= 300 {
                continue;
            }
            let hop = branch.hop;
            self.send_ack(make_ack(&branch.request, &resp), &hop).await;
            if index != winner {
                self.hang_up(&branch.request, &resp, &hop).await;
            }
        }
        self.forget_branches(&branches);
    }

    /// Ends a dialog we never wanted (a second endpoint answered too).
    async fn hang_up(&self, request: &Request, response: &Response, hop: &Hop) {
        let Ok(mut dialog) = Dialog::as_uac(request, response) else {
            return;
        };
        if let Some(bye) = dialog.request(Method::Bye) {
            let _ = self.send_to_hop(bye, hop).await;
        }
    }

    /// Sends the ACK of a 2xx (end to end, not a transaction) with a Via of its own.
    pub async fn send_ack(&self, ack: Option<Request>, hop: &Hop) {
        let Some(mut ack) = ack else { return };
        let sent_by = self.addrs.sent_by(hop.transport, hop.remote);
        let branch = herald_transaction::new_branch();
        ack.headers.push_front(
            HeaderName::Via,
            prepare::via(hop.transport, &sent_by, &branch),
        );
        if ack.headers.get(&HeaderName::MaxForwards).is_none() {
            ack.headers.push(
                HeaderName::MaxForwards,
                prepare::DEFAULT_MAX_FORWARDS.to_string(),
            );
        }
        let target = hop.target(|f| self.wire.transport().flow_alive(f));
        self.wire.send(target, ack.to_bytes()).await;
    }
}
