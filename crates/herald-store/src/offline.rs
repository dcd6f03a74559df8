//! Offline store-and-forward records: instant messages held for a recipient who has no
//! registered device, until one registers and accepts them (or they expire).

/// A message to queue (see [`Store::enqueue_offline`](crate::Store::enqueue_offline)).
///
/// Everything needed to re-send the original request later is kept, because the original
/// transaction is long gone by the time the recipient registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOfflineMessage {
    /// Who the message is for: an AOR, `user@domain` (domain lower-cased on insert). Must be a stored user.
    pub recipient: String,
    /// Who sent it: an AOR, `user@domain` (domain lower-cased on insert); need not be a local user.
    pub sender: String,
    /// The original From header value (display name and URI, without the tag: re-delivery adds a new one).
    pub from_header: String,
    /// The original Content-Type header value.
    pub content_type: String,
    /// The message body, as received.
    pub body: Vec<u8>,
    /// The original request's Date header value (RFC 1123), so the recipient sees when it was sent.
    pub date: String,
    /// The original Call-ID, to correlate logs of the first attempt and of the re-delivery.
    pub call_id: String,
    /// When the server accepted the message, in unix epoch milliseconds.
    pub received_at_ms: i64,
    /// From this time (unix epoch milliseconds) on the message is no longer delivered; must be after `received_at_ms`.
    pub expires_at_ms: i64,
}

/// A queued message as stored: the [`NewOfflineMessage`] fields plus the store's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineMessage {
    /// Store-assigned; increases in arrival order and is never reused.
    pub id: i64,
    /// The recipient's AOR (domain lower-cased).
    pub recipient: String,
    /// The sender's AOR (domain lower-cased).
    pub sender: String,
    /// The original From header value, without tag.
    pub from_header: String,
    /// The original Content-Type header value.
    pub content_type: String,
    /// The message body, as received.
    pub body: Vec<u8>,
    /// The original Date header value (RFC 1123).
    pub date: String,
    /// The original Call-ID.
    pub call_id: String,
    /// When the server accepted the message, in unix epoch milliseconds.
    pub received_at_ms: i64,
    /// When the message expires, in unix epoch milliseconds.
    pub expires_at_ms: i64,
}
