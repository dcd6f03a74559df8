//! Between the transaction layer and the transports: outputs become datagrams and
//! stream writes, and responses to client transactions reach the task that started
//! them. Every outgoing message of the server passes here.
use bytes::Bytes;
use herald_sip::{Request, Response};
use herald_transaction::{KeyHash, Output, TransactionError, TransactionKey, TransactionManager};
use herald_transport::{Target, TransportHandle};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// What a client transaction tells the task that started it.
#[derive(Debug)]
pub enum BranchEvent {
    /// A response (provisional or final; for INVITE every 2xx).
    Response(Response),
    /// No final response in time, or the transport failed: the TU acts as if 408.
    Timeout,
}

/// Events are tagged with the branch index the caller chose, so one task can wait on
/// many branches over one channel.
type BranchSender = mpsc::UnboundedSender<(usize, BranchEvent)>;

pub struct Wire {
    tm: Arc<TransactionManager<Target>>,
    transport: TransportHandle,
    clients: Mutex<HashMap<TransactionKey, (usize, BranchSender), KeyHash>>,
}

impl Wire {
    pub fn new(tm: Arc<TransactionManager<Target>>, transport: TransportHandle) -> Self {
        Wire {
            tm,
            transport,
            clients: Mutex::new(HashMap::default()),
        }
    }

    pub fn tm(&self) -> &TransactionManager<Target> {
        &self.tm
    }

    pub fn transport(&self) -> &TransportHandle {
        &self.transport
    }

    /// Carries out the transaction layer's outputs.
    pub async fn dispatch(&self, outputs: Vec<Output<Target>>) {
        for output in outputs {
            match output {
                Output::Send { ctx, data } => {
                    self.send(ctx, data).await;
                }
                Output::Response { key, response } => {
                    // An INVITE may see several 2xx (forks downstream): kept until the fork forgets it.
                    let last =
                        response.status >= 300 || (response.status >= 200 && !key.is_invite());
                    self.notify(&key, BranchEvent::Response(response), last);
                }
                Output::Timeout { key } => self.notify(&key, BranchEvent::Timeout, true),
                Output::ServerTerminated { key } => {
                    tracing::debug!(
                        ?key,
                        "server transaction ended without a final response sent"
                    );
                }
            }
        }
    }

    fn notify(&self, key: &TransactionKey, event: BranchEvent, last: bool) {
        let mut clients = self.clients.lock();
        let delivered = match clients.get(key) {
            Some((index, tx)) => tx.send((*index, event)).is_ok(),
            // Responses to CANCELs we sent, and to branches whose fork has ended.
            None => return,
        };
        if last || !delivered {
            clients.remove(key);
        }
    }

    /// Sends bytes, refusing broadcast/unspecified destinations. Returns whether they
    /// went out (failures are logged here: callers only decide what follows).
    pub async fn send(&self, target: Target, data: Bytes) -> bool {
        if !sendable(&target) {
            tracing::debug!(
                ?target,
                "refusing to send to a broadcast/unspecified address"
            );
            return false;
        }
        match self.transport.send(target, data).await {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(?target, error = %e, "send failed");
                false
            }
        }
    }

    /// Answers a server transaction.
    pub async fn respond(&self, key: &TransactionKey, response: &Response) {
        let mut out = Vec::new();
        if let Err(e) = self.tm.respond(key, response, Instant::now(), &mut out) {
            tracing::debug!(error = %e, status = response.status, "response not sent: transaction gone");
        }
        self.dispatch(out).await;
    }

    /// Starts a client transaction for `req` (our Via already on top) toward `target`;
    /// its responses arrive on `events` tagged with `index`. A transport failure on the
    /// first send ends it at once with [`BranchEvent::Timeout`].
    pub async fn start_client(
        &self,
        req: &Request,
        target: Target,
        reliable: bool,
        index: usize,
        events: BranchSender,
    ) -> Result<TransactionKey, TransactionError> {
        let mut out = Vec::new();
        let key = self
            .tm
            .send_request(req, target, reliable, Instant::now(), &mut out)?;
        self.clients.lock().insert(key.clone(), (index, events));
        let mut failed = false;
        for output in out {
            match output {
                Output::Send { ctx, data } => failed |= !self.send(ctx, data).await,
                other => self.dispatch(vec![other]).await,
            }
        }
        if failed {
            let mut out = Vec::new();
            self.tm.on_transport_error(&key, &mut out);
            self.dispatch(out).await;
        }
        Ok(key)
    }

    /// CANCELs a pending INVITE client transaction (sent once a provisional arrived).
    pub async fn cancel_client(&self, key: &TransactionKey) {
        let mut out = Vec::new();
        if let Err(e) = self.tm.cancel(key, Instant::now(), &mut out) {
            tracing::debug!(error = %e, "nothing to cancel");
        }
        self.dispatch(out).await;
    }

    /// Stops reporting a client transaction's events (its fork is over).
    pub fn forget_client(&self, key: &TransactionKey) {
        self.clients.lock().remove(key);
    }
}

/// Broadcast, multicast and unspecified addresses are never sent to (RFC 4475 §3.3.10).
pub fn sendable(target: &Target) -> bool {
    match target {
        Target::Flow(_) => true,
        Target::Addr { addr, .. } => {
            let ip_ok = match addr.ip() {
                std::net::IpAddr::V4(v4) => {
                    !(v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified())
                }
                std::net::IpAddr::V6(v6) => !(v6.is_multicast() || v6.is_unspecified()),
            };
            ip_ok && addr.port() != 0
        }
    }
}
