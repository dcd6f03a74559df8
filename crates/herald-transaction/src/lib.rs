//! SIP transactions (RFC 3261 §17), sans-IO.
//!
//! [`TransactionLayer`] holds every server and client transaction of an element and
//! runs their state machines and timers (A..M, RFC 3261 §17 and RFC 6026). It never
//! does I/O and never reads a clock: the caller passes `now` in and gets back a list
//! of [`Output`]s (bytes to send, responses and timeouts for the TU).
//! [`TransactionManager`] wraps it for use from many threads, with one timer task.
//!
//! The layer is generic over the send context `C`: whatever the caller needs to put
//! bytes back on the wire (a transport target). Retransmission timers run only when the
//! caller says the transport is unreliable.
//!
//! Layout (one idea per file):
//! - `key`: transaction matching keys (§17.1.3, §17.2.3 with the RFC 2543 fallback).
//! - `timers`: T1/T2/T4 and the durations derived from them.
//! - `output`: what the layer hands back.
//! - `server` / `client`: the four state machines.
//! - `request_template`: ACK and CANCEL built from the INVITE we sent.
//! - `auto_response`: 100 Trying and the CANCEL answer.
//! - `table` / `timer_queue`: storage and wake-ups; `completed`: what is left of a
//!   completed non-INVITE server transaction on UDP (its final response).
//! - `layer`: dispatch; `manager`: the sharded, thread-safe driver.

#![warn(missing_docs)]

mod auto_response;
mod branch;
mod client;
mod completed;
mod error;
mod key;
mod layer;
mod machine;
mod manager;
mod output;
mod request_template;
mod server;
mod table;
mod timer_queue;
mod timers;

pub use branch::new_branch;
pub use error::TransactionError;
pub use key::{KeyHash, KeyHasher, TransactionKey};
pub use layer::TransactionLayer;
pub use manager::{OutputSink, TransactionManager};
pub use output::{Incoming, Output};
pub use timers::{INVITE_PROCEEDING_LIMIT, Timers};
