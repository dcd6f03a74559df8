//! Instant messaging (RFC 3428 pager mode, INVITE-based sessions as Lync clients use
//! them, RFC 3994 typing indications), on top of the proxy core.
//!
//! The service decides *whether* and *where* a request goes: the sender must be an
//! authenticated user of ours writing as themselves, the recipient must exist, bodies
//! are bounded; then the request is forked to every registered endpoint of the
//! recipient, or kept for later when there is none ([`offline`]); every IM of an
//! archived user is recorded first ([`archive`]). Carrying the request is the proxy's
//! job ([`herald_proxy::Proxy`]).
pub mod archive;
mod blocking;
mod clock;
mod config;
mod content;
mod offline;
mod service;

pub use blocking::SenderFilter;
pub use config::ImConfig;
pub use service::ImService;
