//! Client transactions: RFC 3261 §17.1.1 (INVITE, with the Accepted state of RFC 6026
//! §7.2) and §17.1.2 (non-INVITE), plus the CANCEL rules of §9.1.
use crate::{
    error::TransactionError,
    key::TransactionKey,
    machine::{Retransmit, Step},
    output::Output,
    request_template::RequestTemplate,
    timers::{INVITE_PROCEEDING_LIMIT, Timers},
};
use bytes::Bytes;
use herald_sip::{Request, Response};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// "Calling" for INVITE, "Trying" for non-INVITE: no response yet.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A final response (non-2xx for INVITE) arrived; retransmissions are absorbed
    /// until Timer D (INVITE) or K (non-INVITE).
    Completed,
    /// INVITE only (RFC 6026): a 2xx arrived; further 2xx (other forks, retransmissions)
    /// still go to the TU until Timer M.
    Accepted,
}

/// Where the TU's request to cancel this INVITE stands (§9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cancel {
    NotRequested,
    /// Requested before any provisional response: a CANCEL may not be sent yet.
    Pending,
    Sent,
}

/// What only an INVITE client transaction needs.
#[derive(Debug)]
struct InviteExtras {
    template: RequestTemplate,
    /// The ACK of the non-2xx final response, resent for each retransmission of it.
    ack: Option<Bytes>,
    cancel: Cancel,
}

#[derive(Debug)]
pub(crate) struct ClientTransaction<C> {
    ctx: C,
    reliable: bool,
    state: State,
    /// The request as sent, for retransmissions.
    request: Bytes,
    /// Timer A (INVITE) or E (non-INVITE), unreliable transports only.
    retransmit: Option<Retransmit>,
    /// Timer B/F while waiting, the Proceeding limit, or D/K/M once answered.
    end_at: Instant,
    invite: Option<Box<InviteExtras>>,
}

/// A CANCEL the layer must now send as its own client transaction.
pub(crate) struct CancelToSend<C> {
    pub request: Request,
    pub ctx: C,
    pub reliable: bool,
}

impl<C: Clone> ClientTransaction<C> {
    /// Starts a transaction: sends `request` and arms A/E (unreliable only) and B/F.
    /// `invite` is `Some` for an INVITE.
    pub fn start(
        ctx: C,
        reliable: bool,
        request: Bytes,
        invite: Option<RequestTemplate>,
        now: Instant,
        timers: &Timers,
        outputs: &mut Vec<Output<C>>,
    ) -> Self {
        outputs.push(Output::Send {
            ctx: ctx.clone(),
            data: request.clone(),
        });
        ClientTransaction {
            ctx,
            reliable,
            state: State::Calling,
            request,
            retransmit: (!reliable).then(|| Retransmit::first(now, timers.t1)),
            end_at: now + timers.transaction_timeout(),
            invite: invite.map(|template| {
                Box::new(InviteExtras {
                    template,
                    ack: None,
                    cancel: Cancel::NotRequested,
                })
            }),
        }
    }

    pub fn deadline(&self) -> Instant {
        match self.retransmit {
            Some(retransmit) => retransmit.at.min(self.end_at),
            None => self.end_at,
        }
    }

    /// A response matched this transaction.
    pub fn on_response(
        &mut self,
        key: &TransactionKey,
        response: &Response,
        now: Instant,
        timers: &Timers,
        outputs: &mut Vec<Output<C>>,
    ) -> Step {
        let status = response.status;
        let waiting = matches!(self.state, State::Calling | State::Proceeding);
        let pass_up = |outputs: &mut Vec<Output<C>>| {
            outputs.push(Output::Response {
                key: key.clone(),
                response: response.clone(),
            });
        };
        match &mut self.invite {
            None => {
                if !waiting {
                    // Completed: final response retransmissions are absorbed.
                    return Step::Continue;
                }
                pass_up(outputs);
                if status < 200 {
                    self.state = State::Proceeding;
                    return Step::Continue;
                }
                self.state = State::Completed;
                self.retransmit = None;
                // Timer K: T4 on UDP to absorb response retransmissions, zero on TCP/TLS.
                if self.reliable {
                    return Step::Terminate;
                }
                self.end_at = now + timers.t4;
                Step::Continue
            }
            Some(invite) => match (self.state, status) {
                (State::Calling | State::Proceeding, 100..=199) => {
                    if self.state == State::Calling {
                        // Timers A and B stop; only our own limit bounds the wait.
                        self.state = State::Proceeding;
                        self.retransmit = None;
                        if invite.cancel != Cancel::Sent {
                            self.end_at = now + INVITE_PROCEEDING_LIMIT;
                        }
                    }
                    pass_up(outputs);
                    Step::Continue
                }
                (State::Calling | State::Proceeding, 200..=299) => {
                    pass_up(outputs);
                    self.state = State::Accepted;
                    self.retransmit = None;
                    self.end_at = now + timers.transaction_timeout();
                    Step::Continue
                }
                (State::Accepted, 200..=299) => {
                    // Each 2xx needs its own end-to-end ACK from the TU.
                    pass_up(outputs);
                    Step::Continue
                }
                (State::Calling | State::Proceeding, _) if status >= 300 => {
                    pass_up(outputs);
                    let ack = invite.template.ack(response).to_bytes();
                    outputs.push(Output::Send {
                        ctx: self.ctx.clone(),
                        data: ack.clone(),
                    });
                    self.state = State::Completed;
                    self.retransmit = None;
                    // Timer D: absorb final response retransmissions on UDP only.
                    if self.reliable {
                        return Step::Terminate;
                    }
                    invite.ack = Some(ack);
                    self.end_at = now + timers.timer_d();
                    Step::Continue
                }
                (State::Completed, _) if status >= 300 => {
                    if let Some(ack) = &invite.ack {
                        outputs.push(Output::Send {
                            ctx: self.ctx.clone(),
                            data: ack.clone(),
                        });
                    }
                    Step::Continue
                }
                // Late provisionals and anything out of place are absorbed.
                _ => Step::Continue,
            },
        }
    }

    /// The TU wants this INVITE cancelled. Returns the CANCEL to send now, or `None`
    /// when it has to wait for a provisional response (or was already sent).
    pub fn request_cancel(
        &mut self,
        now: Instant,
        timers: &Timers,
    ) -> Result<Option<CancelToSend<C>>, TransactionError> {
        let Some(invite) = &mut self.invite else {
            return Err(TransactionError::WrongKind);
        };
        match self.state {
            State::Completed | State::Accepted => Err(TransactionError::AlreadyFinal),
            State::Calling => {
                if invite.cancel == Cancel::NotRequested {
                    invite.cancel = Cancel::Pending;
                }
                Ok(None)
            }
            State::Proceeding => Ok(self.take_pending_cancel_inner(true, now, timers)),
        }
    }

    /// After a response: the CANCEL that was waiting for a provisional response, if it
    /// may go now.
    pub fn take_pending_cancel(
        &mut self,
        now: Instant,
        timers: &Timers,
    ) -> Option<CancelToSend<C>> {
        self.take_pending_cancel_inner(false, now, timers)
    }

    fn take_pending_cancel_inner(
        &mut self,
        requested_now: bool,
        now: Instant,
        timers: &Timers,
    ) -> Option<CancelToSend<C>> {
        let invite = self.invite.as_mut()?;
        let wanted = invite.cancel == Cancel::Pending
            || (requested_now && invite.cancel == Cancel::NotRequested);
        if self.state != State::Proceeding || !wanted {
            return None;
        }
        invite.cancel = Cancel::Sent;
        // §9.1: without a final response 64*T1 after the CANCEL, the INVITE is
        // considered cancelled and its transaction destroyed.
        self.end_at = now + timers.transaction_timeout();
        Some(CancelToSend {
            request: invite.template.cancel(),
            ctx: self.ctx.clone(),
            reliable: self.reliable,
        })
    }

    /// Fires whatever is due at `now`.
    pub fn on_timer(
        &mut self,
        key: &TransactionKey,
        now: Instant,
        timers: &Timers,
        outputs: &mut Vec<Output<C>>,
    ) -> Step {
        if self.end_at <= now {
            if matches!(self.state, State::Calling | State::Proceeding) {
                outputs.push(Output::Timeout { key: key.clone() });
            }
            return Step::Terminate;
        }
        if let Some(retransmit) = self.retransmit
            && retransmit.is_due(now)
        {
            outputs.push(Output::Send {
                ctx: self.ctx.clone(),
                data: self.request.clone(),
            });
            let interval = match (&self.invite, self.state) {
                // Timer A doubles without a ceiling.
                (Some(_), _) => retransmit.interval.saturating_mul(2),
                // Timer E doubles up to T2 while Trying, and is T2 once Proceeding.
                (None, State::Proceeding) => timers.t2,
                (None, _) => retransmit.interval.saturating_mul(2).min(timers.t2),
            };
            self.retransmit = Some(Retransmit::first(now, interval));
        }
        Step::Continue
    }

    /// The transport could not send the request (§17.1.4): tell the TU if it still
    /// waits for an answer.
    pub fn on_transport_error(&self, key: &TransactionKey, outputs: &mut Vec<Output<C>>) {
        if matches!(self.state, State::Calling | State::Proceeding) {
            outputs.push(Output::Timeout { key: key.clone() });
        }
    }
}
