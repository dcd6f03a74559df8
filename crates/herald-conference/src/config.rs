//! Settings of the conferencing service (`[conference]` in the settings file).
use std::time::Duration;

/// How conferences are run.
#[derive(Clone, Debug)]
pub struct ConferenceConfig {
    /// Most participants in one conference at a time; the next INVITE gets 486.
    pub max_participants: usize,
    /// Users of our domains may join a conference they were not invited to when they
    /// know its URI (it carries 128 random bits). Off: only the creator and the users
    /// a participant invited (REFER) may join; others get 403.
    pub open_to_domain: bool,
    /// A conference in which nothing happened (no message, no join or leave) for this
    /// long ends: its participants get BYE.
    pub idle_timeout: Duration,
    /// Messages waiting to be sent to one participant; a participant whose queue
    /// overflows is dropped from the conference (BYE), so one slow client never holds
    /// up the others.
    pub participant_queue: usize,
    /// A participant whose queue is full is dropped only when it has left a request
    /// unanswered this long (it stopped keeping up). When it is answering and the queue
    /// is full all the same, the server is what is behind: the sender gets `503` with
    /// `Retry-After` and nobody is dropped.
    pub stall_timeout: Duration,
    /// Largest message body fanned out; above it the MESSAGE gets 413.
    pub max_body_bytes: usize,
}

impl Default for ConferenceConfig {
    fn default() -> Self {
        ConferenceConfig {
            max_participants: 250,
            open_to_domain: true,
            idle_timeout: Duration::from_secs(3600),
            participant_queue: 256,
            stall_timeout: Duration::from_secs(5),
            max_body_bytes: 32 * 1024,
        }
    }
}
