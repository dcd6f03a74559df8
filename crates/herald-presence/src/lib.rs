//! Presence: publications from every endpoint of a user, aggregated into one state,
//! and the subscriptions that watch it.
mod config;

pub use config::{ExpiryBounds, PresenceConfig};
