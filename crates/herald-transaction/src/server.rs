//! Server transactions: RFC 3261 §17.2.1 (INVITE, with the Accepted state of RFC 6026
//! §7.1) and §17.2.2 (non-INVITE).
use crate::{
    error::TransactionError,
    key::TransactionKey,
    machine::{Retransmit, Step},
    output::Output,
    timers::{INVITE_PROCEEDING_LIMIT, Timers},
};
use bytes::Bytes;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Non-INVITE only: no response sent yet.
    Trying,
    /// A provisional response was sent (INVITE starts here with its 100 Trying).
    Proceeding,
    /// A final response was sent (any non-2xx for INVITE).
    Completed,
    /// INVITE only: the ACK for the non-2xx final response arrived (Timer I runs).
    Confirmed,
    /// INVITE only (RFC 6026): a 2xx was sent; INVITE retransmissions are absorbed
    /// until Timer L, ACKs go to the TU.
    Accepted,
}

/// What an ACK that matched an INVITE server transaction means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckVerdict {
    /// The ACK of our non-2xx final response (or a stray duplicate): swallow it.
    Absorbed,
    /// RFC 6026 Accepted state: the ACK belongs to the 2xx, which the TU owns.
    ForTu,
}

/// One server transaction. `deadline()` is the only wake-up it needs: the end timer
/// (guard, H, I, J or L by state) or Timer G, whichever is first.
#[derive(Debug)]
pub(crate) struct ServerTransaction<C> {
    ctx: C,
    invite: bool,
    reliable: bool,
    state: State,
    /// The response retransmissions resend, serialised once.
    last_response: Option<Bytes>,
    /// Timer G (INVITE, unreliable, Completed).
    retransmit: Option<Retransmit>,
    end_at: Instant,
}

impl<C: Clone> ServerTransaction<C> {
    /// An INVITE server transaction: it sends `trying` (the 100) at once and enters
    /// Proceeding (§17.2.1).
    pub fn invite(
        ctx: C,
        reliable: bool,
        now: Instant,
        trying: Bytes,
        outputs: &mut Vec<Output<C>>,
    ) -> Self {
        outputs.push(Output::Send {
            ctx: ctx.clone(),
            data: trying.clone(),
        });
        ServerTransaction {
            ctx,
            invite: true,
            reliable,
            state: State::Proceeding,
            last_response: Some(trying),
            retransmit: None,
            end_at: now + INVITE_PROCEEDING_LIMIT,
        }
    }

    /// A non-INVITE server transaction in Trying. RFC 3261 gives it no timer until the
    /// TU answers; the client gives up after 64*T1 (Timer F), and so do we.
    pub fn non_invite(ctx: C, reliable: bool, now: Instant, timers: &Timers) -> Self {
        ServerTransaction {
            ctx,
            invite: false,
            reliable,
            state: State::Trying,
            last_response: None,
            retransmit: None,
            end_at: now + timers.transaction_timeout(),
        }
    }

    pub fn deadline(&self) -> Instant {
        match self.retransmit {
            Some(retransmit) => retransmit.at.min(self.end_at),
            None => self.end_at,
        }
    }

    pub fn is_invite(&self) -> bool {
        self.invite
    }

    /// True once a final response went out.
    pub fn has_final_response(&self) -> bool {
        matches!(
            self.state,
            State::Completed | State::Confirmed | State::Accepted
        )
    }

    /// The request came again: resend the last provisional (Proceeding) or final
    /// (Completed) response; in every other state the retransmission is just absorbed.
    pub fn on_retransmission(&self, outputs: &mut Vec<Output<C>>) {
        if matches!(self.state, State::Proceeding | State::Completed)
            && let Some(data) = &self.last_response
        {
            outputs.push(Output::Send {
                ctx: self.ctx.clone(),
                data: data.clone(),
            });
        }
    }

    /// An ACK matched this (INVITE) transaction.
    pub fn on_ack(&mut self, now: Instant, timers: &Timers) -> (Step, AckVerdict) {
        match self.state {
            State::Completed => {
                self.state = State::Confirmed;
                self.retransmit = None;
                // Timer I absorbs ACK retransmissions: T4 on UDP, zero on TCP/TLS.
                if self.reliable {
                    return (Step::Terminate, AckVerdict::Absorbed);
                }
                self.end_at = now + timers.t4;
                (Step::Continue, AckVerdict::Absorbed)
            }
            State::Accepted => (Step::Continue, AckVerdict::ForTu),
            State::Trying | State::Proceeding | State::Confirmed => {
                (Step::Continue, AckVerdict::Absorbed)
            }
        }
    }

    /// Refuses a response this transaction may not send any more, before the caller
    /// spends time serialising it.
    pub fn check_response(&self, status: u16) -> Result<(), TransactionError> {
        match self.state {
            State::Trying | State::Proceeding => Ok(()),
            // RFC 6026 §8.5: 2xx retransmissions from the TU still go out in Accepted.
            State::Accepted if (200..300).contains(&status) => Ok(()),
            State::Accepted | State::Completed | State::Confirmed => {
                Err(TransactionError::AlreadyFinal)
            }
        }
    }

    /// The TU answers with `status`, serialised as `data`.
    pub fn respond(
        &mut self,
        status: u16,
        data: Bytes,
        now: Instant,
        timers: &Timers,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<Step, TransactionError> {
        self.check_response(status)?;
        outputs.push(Output::Send {
            ctx: self.ctx.clone(),
            data: data.clone(),
        });
        if status < 200 {
            self.state = State::Proceeding;
            self.last_response = Some(data);
            return Ok(Step::Continue);
        }
        if self.state == State::Accepted {
            return Ok(Step::Continue);
        }
        if self.invite && status < 300 {
            // RFC 6026: the TU retransmits the 2xx itself; we only keep absorbing
            // INVITE retransmissions (and passing ACKs up) until Timer L.
            self.state = State::Accepted;
            self.last_response = None;
            self.end_at = now + timers.transaction_timeout();
            return Ok(Step::Continue);
        }
        self.state = State::Completed;
        self.last_response = Some(data);
        if self.invite {
            // Timer H runs on every transport; Timer G only where messages get lost.
            if !self.reliable {
                self.retransmit = Some(Retransmit::first(now, timers.t1));
            }
            self.end_at = now + timers.transaction_timeout();
            return Ok(Step::Continue);
        }
        // Timer J: 64*T1 on UDP to absorb request retransmissions, zero on TCP/TLS.
        if self.reliable {
            return Ok(Step::Terminate);
        }
        self.end_at = now + timers.transaction_timeout();
        Ok(Step::Continue)
    }

    /// A non-INVITE transaction that completed on an unreliable transport has nothing
    /// left to do but resend its final response until Timer J: hands that response over
    /// (see [`crate::completed`]) so the rest of the state can go.
    pub fn retire(&mut self) -> Option<Bytes> {
        if self.invite || self.reliable || self.state != State::Completed {
            return None;
        }
        self.last_response.take()
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
            let unfinished = match self.state {
                // The TU never sent a final response.
                State::Trying | State::Proceeding => true,
                // For INVITE this is Timer H: the non-2xx final response was never
                // ACKed. For non-INVITE it is Timer J, the normal end.
                State::Completed => self.invite,
                State::Confirmed | State::Accepted => false,
            };
            if unfinished {
                outputs.push(Output::ServerTerminated { key: key.clone() });
            }
            return Step::Terminate;
        }
        if let Some(retransmit) = self.retransmit
            && retransmit.is_due(now)
        {
            // Timer G: resend, doubling the interval up to T2.
            if let Some(data) = &self.last_response {
                outputs.push(Output::Send {
                    ctx: self.ctx.clone(),
                    data: data.clone(),
                });
            }
            let interval = retransmit.interval.saturating_mul(2).min(timers.t2);
            self.retransmit = Some(Retransmit::first(now, interval));
        }
        Step::Continue
    }

    /// The transport could not deliver a response (§17.2.4): the transaction is over.
    pub fn on_transport_error(&self, key: &TransactionKey, outputs: &mut Vec<Output<C>>) {
        if !matches!(self.state, State::Confirmed | State::Accepted) {
            outputs.push(Output::ServerTerminated { key: key.clone() });
        }
    }
}
