//! Errors the TU gets back when it drives a transaction the wrong way.
use herald_sip::ParseError;

/// Why a call from the TU into the transaction layer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// No live transaction has this key (never existed, or already terminated).
    #[error("no such transaction")]
    UnknownTransaction,
    /// The server transaction already sent its final response, or the client INVITE
    /// transaction already received one (nothing left to cancel).
    #[error("the transaction already has a final response")]
    AlreadyFinal,
    /// A response status outside 100..=699.
    #[error("invalid response status {0}")]
    InvalidStatus(u16),
    /// The key names a transaction of the wrong kind (e.g. `cancel` on a non-INVITE).
    #[error("operation not valid for this kind of transaction")]
    WrongKind,
    /// ACK is not sent through a client transaction: the layer ACKs non-2xx itself and
    /// the TU sends the ACK for a 2xx directly to the transport (RFC 3261 §17.1.1.3, §13.2.2.4).
    #[error("ACK does not start a client transaction")]
    AckIsNotATransaction,
    /// The top Via branch lacks the RFC 3261 magic cookie (see `new_branch`).
    #[error("the top Via branch must start with z9hG4bK")]
    NotRfc3261Branch,
    /// A client transaction with this branch and method already exists.
    #[error("a client transaction with this branch already exists")]
    DuplicateTransaction,
    /// The request lacks what a transaction needs (Via, CSeq, ...).
    #[error("malformed request: {0}")]
    Malformed(#[from] ParseError),
}
