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
}

impl ImMode {
    /// The stored (and exported) spelling: `"pager"` or `"session"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImMode::Pager => "pager",
            ImMode::Session => "session",
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

    /// Accepts exactly the stored spellings, `pager` and `session`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pager" => Ok(ImMode::Pager),
            "session" => Ok(ImMode::Session),
            other => Err(StoreError::Invalid(format!(
                "IM mode {other:?} is neither \"pager\" nor \"session\""
            ))),
        }
    }
}

/// One archived instant message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveRecord {
    /// When the server handled the message, in unix epoch milliseconds.
    pub at_ms: i64,
    /// The sender's AOR, `user@domain` (domain lower-cased on insert).
    pub sender: String,
    /// The recipient's AOR, `user@domain` (domain lower-cased on insert).
    pub recipient: String,
    /// The Call-ID of the request that carried the message.
    pub call_id: String,
    /// Page mode or session mode.
    pub mode: ImMode,
    /// The Content-Type header value.
    pub content_type: String,
    /// The message body, as received.
    pub body: Vec<u8>,
}
