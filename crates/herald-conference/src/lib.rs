//! Group IM conferences (being written).
mod config;

pub use config::ConferenceConfig;
