//! What kind of IM a request carries, as far as policy cares.
use herald_sip::{Method, Request};

/// RFC 3994 typing indication.
pub const IS_COMPOSING: &str = "application/im-iscomposing+xml";

/// A typing indication: carried like any MESSAGE, but never stored for later nor
/// archived (it is not content, and stale an instant later).
pub fn is_typing(req: &Request) -> bool {
    req.media_type()
        .is_some_and(|t| t.eq_ignore_ascii_case(IS_COMPOSING))
}

/// A MESSAGE with something a person wrote in it.
pub fn is_im_content(req: &Request) -> bool {
    req.method == Method::Message && !req.body.is_empty() && !is_typing(req)
}
