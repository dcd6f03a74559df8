//! Settings of the IM service (the `[im]` and `[archiving]` sections of herald.toml).
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ImConfig {
    /// MESSAGE bodies above this get 413. Must leave room for the headers below the
    /// transport's message size limit (above it a message gets 513 before the IM
    /// service sees it).
    pub max_body_bytes: usize,
    /// Messages kept per offline recipient; beyond it new ones are refused (480).
    pub offline_queue_limit: u32,
    /// How long an undelivered offline message is kept.
    pub offline_expiry: Duration,
    /// How long the devices of a recipient get to answer a MESSAGE. Below Timer F
    /// (32 s) so the sender hears back (possibly 202, stored) before it gives up.
    pub message_timeout: Duration,
    /// How long an IM invitation rings before it is CANCELed.
    pub invite_timeout: Duration,
    /// Archive every user's IM (per-user overrides win).
    pub archiving: bool,
    /// Refuse IM (480) when the archive cannot be written, instead of carrying on.
    pub archiving_critical: bool,
}

impl Default for ImConfig {
    fn default() -> Self {
        ImConfig {
            max_body_bytes: 32 * 1024,
            offline_queue_limit: 500,
            offline_expiry: Duration::from_secs(7 * 24 * 3600),
            message_timeout: Duration::from_secs(10),
            invite_timeout: Duration::from_secs(90),
            archiving: false,
            archiving_critical: false,
        }
    }
}
