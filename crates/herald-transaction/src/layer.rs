//! The sans-IO transaction layer: matches messages to transactions, runs their state
//! machines and timers, and says what to send. It never does I/O and never reads a
//! clock: every entry point takes `now` and appends to `outputs`.
use crate::{
    auto_response,
    client::{CancelToSend, ClientTransaction},
    completed::Completed,
    error::TransactionError,
    key::TransactionKey,
    machine::Step,
    output::{Incoming, Output},
    request_template::RequestTemplate,
    server::{AckVerdict, ServerTransaction},
    table::{Table, Transaction},
    timers::Timers,
};
use bytes::Bytes;
use herald_sip::{Method, ParseError, Request, Response};
use std::time::Instant;

/// All transactions of one SIP element (or of one shard of it).
#[derive(Debug)]
pub struct TransactionLayer<C> {
    timers: Timers,
    table: Table<C>,
    /// Non-INVITE server transactions completed on UDP: their final response only.
    completed: Completed,
}

impl<C: Clone> TransactionLayer<C> {
    /// An empty layer using `timers` (use `Timers::default()` for the RFC values).
    pub fn new(timers: Timers) -> Self {
        TransactionLayer {
            timers,
            table: Table::default(),
            completed: Completed::default(),
        }
    }

    /// Takes a request from the network. `reliable` = it came over TCP/TLS (no
    /// retransmission timers for responses). Err when the request lacks what matching
    /// needs (the caller answers 400 per `ParseError::status`, or drops it).
    pub fn on_request(
        &mut self,
        req: &Request,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<Incoming<C>, ParseError> {
        let key = TransactionKey::for_request(req)?;
        self.on_request_with_key(req, key, ctx, reliable, now, outputs)
    }

    /// Whether `key` names a live transaction (a request with it is a retransmission).
    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.table.find(key).is_some() || self.completed.contains(key)
    }

    pub(crate) fn on_request_with_key(
        &mut self,
        req: &Request,
        key: TransactionKey,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<Incoming<C>, ParseError> {
        if req.method == Method::Ack {
            return Ok(self.on_ack(&key, now));
        }
        if let Some(slot) = self.table.find(&key) {
            // A retransmission, including one of a CANCEL: its own transaction resends
            // the answer it already got.
            self.table.update(slot, |_, tx| {
                if let Transaction::Server(server) = tx {
                    server.on_retransmission(outputs);
                }
                (Step::Continue, ())
            });
            return Ok(Incoming::Retransmission);
        }
        if let Some(response) = self.completed.response(&key) {
            // It came back the way the first copy did (same Via, same source), so the
            // answer goes where that copy's did.
            outputs.push(Output::Send {
                ctx,
                data: response.clone(),
            });
            return Ok(Incoming::Retransmission);
        }
        if req.method == Method::Cancel {
            return self.on_cancel(req, key, ctx, reliable, now, outputs);
        }
        let server = if req.method == Method::Invite {
            ServerTransaction::invite(ctx, reliable, now, auto_response::trying(req), outputs)
        } else {
            ServerTransaction::non_invite(ctx, reliable, now, &self.timers)
        };
        self.table.insert(key.clone(), Transaction::Server(server));
        Ok(Incoming::New { key })
    }

    fn on_ack(&mut self, key: &TransactionKey, now: Instant) -> Incoming<C> {
        let Some(slot) = self.table.find(key) else {
            return Incoming::StrayAck;
        };
        let timers = self.timers;
        let verdict = self.table.update(slot, |_, tx| match tx {
            Transaction::Server(server) => server.on_ack(now, &timers),
            Transaction::Client(_) => (Step::Continue, AckVerdict::ForTu),
        });
        match verdict {
            Some(AckVerdict::Absorbed) => Incoming::AckAbsorbed,
            Some(AckVerdict::ForTu) | None => Incoming::StrayAck,
        }
    }

    /// §9.2: answer the CANCEL from its own (non-INVITE) server transaction, and tell
    /// the TU which INVITE to end.
    fn on_cancel(
        &mut self,
        cancel: &Request,
        key: TransactionKey,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<Incoming<C>, ParseError> {
        let invite_key = TransactionKey::for_cancelled_invite(cancel)?;
        let pending = self
            .table
            .find(&invite_key)
            .and_then(|slot| match self.table.get(slot) {
                Some(Transaction::Server(server)) if server.is_invite() => {
                    Some(!server.has_final_response())
                }
                _ => None,
            });
        let (status, invite) = match pending {
            Some(true) => (200, Some(invite_key)),
            Some(false) => (200, None),
            None => (481, None),
        };
        let mut server = ServerTransaction::non_invite(ctx, reliable, now, &self.timers);
        let answer = auto_response::cancel_answer(cancel, status);
        // A fresh transaction in Trying always accepts a final response.
        if let Ok(Step::Continue) = server.respond(status, answer, now, &self.timers, outputs) {
            match server.retire() {
                Some(response) => {
                    self.completed
                        .insert(key, response, now + self.timers.transaction_timeout())
                }
                None => {
                    self.table.insert(key, Transaction::Server(server));
                }
            }
        }
        Ok(Incoming::Cancel { invite })
    }

    /// The TU answers a server transaction. Serialises once and keeps the bytes for
    /// retransmissions. Err if the transaction is unknown/terminated or already has a
    /// final response (except further 2xx in the RFC 6026 Accepted state, which are sent).
    pub fn respond(
        &mut self,
        key: &TransactionKey,
        response: &Response,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<(), TransactionError> {
        let status = response.status;
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        let Some(slot) = self.table.find(key) else {
            return Err(if self.completed.contains(key) {
                TransactionError::AlreadyFinal
            } else {
                TransactionError::UnknownTransaction
            });
        };
        let timers = self.timers;
        let retired = self
            .table
            .update(slot, |_, tx| {
                let Transaction::Server(server) = tx else {
                    return (Step::Continue, Err(TransactionError::WrongKind));
                };
                if let Err(error) = server.check_response(status) {
                    return (Step::Continue, Err(error));
                }
                match server.respond(status, encode(response), now, &timers, outputs) {
                    Ok(step) => match server.retire() {
                        Some(kept) => (Step::Terminate, Ok(Some(kept))),
                        None => (step, Ok(None)),
                    },
                    Err(error) => (Step::Continue, Err(error)),
                }
            })
            .unwrap_or(Err(TransactionError::UnknownTransaction))?;
        // A challenge is answered statelessly (RFC 3261 §8.2.7): a retransmission of the
        // challenged request is challenged again, with a fresh nonce the client may use
        // as well as the first. Keeping every 401/407 for Timer J held half of a busy
        // registrar's memory, and the allocator's work for it.
        if let Some(kept) = retired
            && !matches!(status, 401 | 407)
        {
            self.completed
                .insert(key.clone(), kept, now + timers.transaction_timeout());
        }
        Ok(())
    }

    /// Starts a client transaction for a request the TU sends. The TU already put its
    /// Via on top with a fresh branch (see [`crate::new_branch`]). Queues the first Send.
    pub fn send_request(
        &mut self,
        req: &Request,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<TransactionKey, TransactionError> {
        if req.method == Method::Ack {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let key = TransactionKey::for_client_request(req)?;
        self.send_request_with_key(req, key, ctx, reliable, now, outputs)
    }

    pub(crate) fn send_request_with_key(
        &mut self,
        req: &Request,
        key: TransactionKey,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<TransactionKey, TransactionError> {
        if self.table.contains(&key) {
            return Err(TransactionError::DuplicateTransaction);
        }
        let wire = req.to_bytes();
        let template = match req.method {
            Method::Invite => Some(RequestTemplate::from_wire(&wire)?),
            _ => None,
        };
        let client =
            ClientTransaction::start(ctx, reliable, wire, template, now, &self.timers, outputs);
        self.table.insert(key.clone(), Transaction::Client(client));
        Ok(key)
    }

    /// A response arrived. Matched to a client transaction: `Ok(true)`, with an
    /// `Output::Response` unless it was an absorbed retransmission (for an INVITE's
    /// non-2xx final response the layer also sends the ACK itself, §17.1.1.3).
    /// Unmatched: `Ok(false)` (the TU may forward a stray 2xx to INVITE statelessly).
    pub fn on_response(
        &mut self,
        resp: &Response,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<bool, ParseError> {
        let key = TransactionKey::for_response(resp)?;
        Ok(self.on_response_with_key(resp, &key, now, outputs))
    }

    pub(crate) fn on_response_with_key(
        &mut self,
        resp: &Response,
        key: &TransactionKey,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> bool {
        let Some(slot) = self.table.find(key) else {
            return false;
        };
        let timers = self.timers;
        let outcome = self.table.update(slot, |key, tx| match tx {
            Transaction::Client(client) => {
                let step = client.on_response(key, resp, now, &timers, outputs);
                let cancel = match step {
                    Step::Continue => client.take_pending_cancel(now, &timers),
                    Step::Terminate => None,
                };
                (step, Some(cancel))
            }
            Transaction::Server(_) => (Step::Continue, None),
        });
        match outcome {
            Some(Some(cancel)) => {
                if let Some(cancel) = cancel {
                    self.start_cancel(key, cancel, now, outputs);
                }
                true
            }
            Some(None) | None => false,
        }
    }

    /// CANCELs a pending INVITE client transaction: builds the CANCEL per §9.1 and sends
    /// it as its own client transaction (its responses come back as `Output::Response`
    /// with a key whose method is CANCEL). Before any provisional response the CANCEL
    /// is held back and sent when one arrives, as §9.1 requires.
    pub fn cancel(
        &mut self,
        invite: &TransactionKey,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<(), TransactionError> {
        let slot = self
            .table
            .find(invite)
            .ok_or(TransactionError::UnknownTransaction)?;
        let timers = self.timers;
        let cancel = self
            .table
            .update(slot, |_, tx| match tx {
                Transaction::Client(client) => {
                    (Step::Continue, client.request_cancel(now, &timers))
                }
                Transaction::Server(_) => (Step::Continue, Err(TransactionError::WrongKind)),
            })
            .unwrap_or(Err(TransactionError::UnknownTransaction))?;
        if let Some(cancel) = cancel {
            self.start_cancel(invite, cancel, now, outputs);
        }
        Ok(())
    }

    fn start_cancel(
        &mut self,
        invite: &TransactionKey,
        cancel: CancelToSend<C>,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) {
        let key = invite.cancel_of();
        // The TU may have sent a CANCEL of its own with this branch: one is enough.
        if self.table.contains(&key) {
            return;
        }
        let client = ClientTransaction::start(
            cancel.ctx,
            cancel.reliable,
            cancel.request.to_bytes(),
            None,
            now,
            &self.timers,
            outputs,
        );
        self.table.insert(key, Transaction::Client(client));
    }

    /// The transport failed to send for this transaction (§17.1.4, §17.2.4): it ends
    /// now; a client transaction still waiting yields `Output::Timeout`, a server one
    /// without a final response `Output::ServerTerminated`. Returns whether it existed.
    pub fn on_transport_error(
        &mut self,
        key: &TransactionKey,
        outputs: &mut Vec<Output<C>>,
    ) -> bool {
        let Some(slot) = self.table.find(key) else {
            if self.completed.remove(key) {
                // As for a full transaction in Completed: it ends without the peer
                // having surely got the final response.
                outputs.push(Output::ServerTerminated { key: key.clone() });
                return true;
            }
            return false;
        };
        self.table
            .update(slot, |key, tx| {
                match tx {
                    Transaction::Server(server) => server.on_transport_error(key, outputs),
                    Transaction::Client(client) => client.on_transport_error(key, outputs),
                }
                (Step::Terminate, ())
            })
            .is_some()
    }

    /// Fires every timer due at `now`.
    pub fn poll(&mut self, now: Instant, outputs: &mut Vec<Output<C>>) {
        self.completed.expire(now);
        let timers = self.timers;
        while let Some(slot) = self.table.pop_due(now) {
            self.table.update(slot, |key, tx| {
                let step = match tx {
                    Transaction::Server(server) => server.on_timer(key, now, &timers, outputs),
                    Transaction::Client(client) => client.on_timer(key, now, &timers, outputs),
                };
                (step, ())
            });
        }
    }

    /// When `poll` next has work (at worst a little early, never late).
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.table.next_deadline(), self.completed.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Live transactions.
    pub fn len(&self) -> usize {
        self.table.len() + self.completed.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response serialised once, in an allocation of its exact size: on UDP it is kept
/// for Timer J, and the slack a growing buffer leaves would be held as long.
fn encode(response: &Response) -> Bytes {
    let mut out = Vec::with_capacity(512);
    response.write_to(&mut out);
    out.shrink_to_fit();
    Bytes::from(out)
}
