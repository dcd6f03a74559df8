//! Conference monitoring records: when each group IM conference started and ended, who took
//! part and how many messages were sent in it. Kept after the conference ends (history), and
//! not removed with the users named in them.

/// One conference as recorded (see [`Store::conference_records`](crate::Store::conference_records)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConferenceRecord {
    /// The conference's address as `conf-<id>@domain` (no `sip:` scheme, domain lower-cased).
    pub uri: String,
    /// Who created it: an AOR, `user@domain` (domain lower-cased).
    pub creator: String,
    /// When it started, in unix epoch milliseconds.
    pub started_ms: i64,
    /// When it ended, in unix epoch milliseconds; `None` while it runs.
    pub ended_ms: Option<i64>,
    /// Why it ended (for example "last participant left", "idle", "server restart"); `None`
    /// while it runs.
    pub end_reason: Option<String>,
    /// Messages sent in it, as counted by the focus when it ended (0 while it runs).
    pub message_count: u64,
    /// Everyone who joined, once each, in the order of their first join.
    pub participants: Vec<String>,
}
