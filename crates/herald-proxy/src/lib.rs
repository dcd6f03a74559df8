//! The proxy core of Herald (RFC 3261 §16): what every service that sends a request
//! onward shares.
//!
//! - [`Wire`]: puts the transaction layer's outputs on the transports, and routes the
//!   responses of client transactions back to whoever started them.
//! - [`Proxy`]: forks a request to a set of targets ([`Proxy::fork`]), picks the best
//!   response (§16.7), forwards provisional and 2xx responses upstream at once, CANCELs
//!   losing INVITE branches; routes in-dialog requests by the Record-Route it inserted
//!   ([`Proxy::route_in_dialog`]); tracks the dialogs it record-routed so it can end
//!   them with BYE when an endpoint's connection goes away ([`Proxy::flow_closed`]).
//!
//! Policy (who may send what to whom) is not here: the services above decide, then
//! ask the proxy to carry the request.
mod dialogs;
mod flow_token;
mod fork;
mod hop;
mod in_dialog;
mod invite;
mod local_addr;
mod loops;
mod originate;
mod prepare;
mod proxy;
mod select;
mod wire;

pub use fork::{BranchLabel, BranchOutcome, BranchTarget, ForkOptions, ForkResult, Upstream};
pub use hop::Hop;
pub use in_dialog::InDialog;
pub use invite::{Answered, InviteTarget, Invited, MakeAck};
pub use originate::Sent;
pub use proxy::{Proxy, ProxyConfig};
pub use select::{Candidate, best_response};
pub use wire::{BranchEvent, Wire, sendable};
