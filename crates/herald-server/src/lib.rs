//! The SIP server core. Data flows one way: transport -> [`inbound`] (parse, NAT
//! stamping, transaction matching) -> [`router`] (generic request checks, then the
//! service for the method) -> back out through the transaction layer and
//! [`outbound`] (RFC 3261 §18.2.2 response routing).

mod blocking;
pub mod checks;
pub mod config;
pub mod inbound;
pub mod merged;
pub mod outbound;
pub mod overload;
pub mod router;
pub mod server;

pub use config::ServerConfig;
pub use overload::{OverloadConfig, OverloadStats};
pub use server::{Server, ServerError};
