//! Responses the layer sends on its own: the 100 Trying of an INVITE (§17.2.1) and the
//! answer to a CANCEL (§9.2).
use crate::branch::new_tag;
use bytes::Bytes;
use herald_sip::{HeaderName, Request, response};

/// `100 Trying` for an INVITE. It carries no To tag, and echoes Timestamp (§8.2.6.1).
pub(crate) fn trying(invite: &Request) -> Bytes {
    let mut trying = response::from_request(invite, 100, None, None);
    if let Some(timestamp) = invite.headers.get(&HeaderName::Timestamp) {
        trying
            .headers
            .push(HeaderName::Timestamp, timestamp.clone());
    }
    trying.to_bytes()
}

/// The layer's answer to a CANCEL: 200 when it matched a transaction, 481 otherwise.
/// A fresh To tag is added when the CANCEL has none (§8.2.6.2).
pub(crate) fn cancel_answer(cancel: &Request, status: u16) -> Bytes {
    response::from_request(cancel, status, None, Some(&new_tag())).to_bytes()
}
