//! IM archive records: a compliance copy of every instant message to or from an archived user.

use std::fmt;
use std::str::FromStr;

use crate::StoreError;

/// How a message was exchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImMode {
    /// A standalone SIP MESSAGE (RFC 3428 page mode).
    Pager,
    /// A message inside an IM session (a dialog set up by INVITE) rather than a standalone request.
    Session,
    /// A message sent in a group IM conference and fanned out by its focus.
    Conference,
}

impl ImMode {
    /// The stored (and exported) spelling: `"pager"`, `"session"` or `"conference"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImMode::Pager => "pager",
            ImMode::Session => "session",
            ImMode::Conference => "conference",
        }
    }
}

impl fmt::Display for ImMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImMode {
    type Err = StoreError;

    /// Accepts exactly the stored spellings, `pager`, `session` and `conference`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pager" => Ok(ImMode::Pager),
            "session" => Ok(ImMode::Session),
            "conference" => Ok(ImMode::Conference),
            other => Err(StoreError::Invalid(format!(
                "IM mode {other:?} is not \"pager\", \"session\" or \"conference\""
            ))),
        }
    }
}

/// One archived instant message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveRecord {
    /// When the server handled the message, in unix epoch milliseconds.
    pub at_ms: i64,
    /// The sender's AOR, `user@domain` (a `sip:` scheme dropped and the domain lower-cased
    /// on insert).
    pub sender: String,
    /// The recipient's AOR, `user@domain`, or a conference's `conf-<id>@domain` (a `sip:`
    /// scheme dropped and the domain lower-cased on insert).
    pub recipient: String,
    /// The Call-ID of the request that carried the message.
    pub call_id: String,
    /// Page mode, session mode or a conference.
    pub mode: ImMode,
    /// The Content-Type header value.
    pub content_type: String,
    /// The message body, as received.
    pub body: Vec<u8>,
}
