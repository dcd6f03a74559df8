//! What the transaction layer hands back to its caller: work to do (outputs) and the
//! verdict on an incoming request.
use crate::key::TransactionKey;
use bytes::Bytes;
use std::{convert::Infallible, marker::PhantomData};

/// Something the caller must do on the layer's behalf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<C> {
    /// Put these bytes on the wire toward `ctx`.
    Send {
        /// Where to send (as given by the caller for this transaction).
        ctx: C,
        /// A whole serialised message.
        data: Bytes,
    },
    /// A client transaction got a response for the TU (provisional or final;
    /// retransmissions of a final response are absorbed).
    Response {
        /// The client transaction (its method is CANCEL for the answer to a CANCEL
        /// the layer sent on behalf of `TransactionLayer::cancel`).
        key: TransactionKey,
        /// The response as received.
        response: herald_sip::Response,
    },
    /// A client transaction timed out (Timer B/F, or no final response in time) or got
    /// a transport error: the TU synthesises 408/503.
    Timeout {
        /// The client transaction that gave up.
        key: TransactionKey,
    },
    /// A server transaction ended without a final response being sent in time, or an
    /// INVITE server transaction's non-2xx final response was never ACKed (Timer H):
    /// for logging/metrics.
    ServerTerminated {
        /// The server transaction that ended.
        key: TransactionKey,
    },
}

/// What to do with an incoming request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming<C> {
    /// A new transaction: hand the request to the TU. For INVITE the layer already
    /// queued a `100 Trying` in the outputs (RFC 3261 §17.2.1).
    New {
        /// The new server transaction: pass it to `respond`.
        key: TransactionKey,
    },
    /// A retransmission of a request we know: absorbed; the outputs hold a resend of the
    /// last response if there is one.
    Retransmission,
    /// An ACK for a non-2xx final response of an INVITE server transaction: absorbed.
    AckAbsorbed,
    /// An ACK that matches no transaction (the ACK for a 2xx, end to end), or that
    /// matches an INVITE transaction in the RFC 6026 Accepted state: the TU routes it.
    StrayAck,
    /// A CANCEL. The layer answered the CANCEL itself (in the outputs). `invite` is the
    /// key of the INVITE server transaction it cancels when that transaction has not
    /// sent a final response yet: the TU answers it 487 and cancels its forks. `None`:
    /// the layer answered 481 (no such transaction), or 200 when the INVITE already has
    /// its final response and there is nothing left to cancel (§9.2).
    Cancel {
        /// The INVITE server transaction to end with 487, if any.
        invite: Option<TransactionKey>,
    },
    /// Never constructed: it only ties `C` to the type. Being uninhabited, it need not
    /// appear in a `match`.
    #[doc(hidden)]
    Unreachable(PhantomData<C>, Infallible),
}
