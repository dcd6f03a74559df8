//! Herald's SIP transports: UDP, TCP and TLS listeners on tokio (IPv4 and IPv6),
//! stream framing, a table of connections ("flows"), RFC 5626 §3.5.1 CRLF keep-alives,
//! idle and slowloris reaping, outbound connects, and TLS certificates (PEM files or a
//! self-signed one generated on first start).
//!
//! The layer delivers raw framed messages as [`Event`]s and sends raw bytes; parsing is
//! the consumer's job. Call [`start`] with a [`TransportConfig`], read events from the
//! returned receiver and send through the [`TransportHandle`].
//!
//! Layout (one idea per file):
//! - `transport`, `listen_spec`, `event`, `config`, `error`, `stats`: the public types.
//! - `handle`: [`start`] and [`TransportHandle`]; `shared`: state shared by all tasks.
//! - `socket`: binding with socket options; `listener`: accepting TCP/TLS;
//!   `outbound`: connecting; `connection`: one connection's life; `stream_halves`: its
//!   stream split for reading and writing; `activity`: idle tracking; `flow_table`: open flows; `limits`: connection limits.
//! - `udp`: datagrams; `tls`: rustls configuration; `self_signed`: [`ensure_self_signed`].
//! - `flood`: the per-source-address guard (rates, bans, trusted networks), configured
//!   by `flood_config`; `token_bucket`: its rate arithmetic; `cidr`: trusted networks.

mod activity;
mod cidr;
mod config;
mod connection;
mod error;
mod event;
mod flood;
mod flood_config;
mod flow_table;
mod handle;
mod limits;
mod listen_spec;
mod listener;
mod outbound;
mod self_signed;
mod shared;
mod socket;
mod stats;
mod stream_halves;
mod tls;
mod token_bucket;
mod transport;
mod udp;

pub use cidr::{Cidr, CidrError};
pub use config::{PeerTlsSettings, TlsSettings, TransportConfig};
pub use error::TransportError;
pub use event::{Event, FlowId, Source, Target};
pub use flood_config::FloodConfig;
pub use handle::{MIN_SHARD_QUEUE, TransportHandle, start, start_sharded};
pub use listen_spec::{ListenSpec, ListenSpecError};
pub use self_signed::ensure_self_signed;
pub use stats::TransportStats;
pub use transport::{Transport, UnknownTransport};
