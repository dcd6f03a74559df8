//! Documents of group IM: everything the conference focus (`herald-conference`) needs
//! to read and write bodies and header values, and nothing that does I/O.
//!
//! - [`conference_info`]: `application/conference-info+xml` (RFC 4575), the roster
//!   sent to subscribers of the `conference` event package, in full or partial state.
//! - [`cpim`]: `message/cpim` (RFC 3862), the wrapper that tells every participant who
//!   said what, and RFC 3339 timestamps for its `DateTime`.
//! - [`sipfrag`]: `message/sipfrag` (RFC 3420) status lines for REFER progress
//!   NOTIFYs (RFC 3515).
//! - [`refer`]: the `Refer-To` header with its embedded headers (RFC 3515), and
//!   `Replaces` (RFC 3891).
//! - [`sdp`]: reading an SDP offer and the focus's answer rejecting every stream (RFC
//!   3264 §6, RFC 4566): the focus accepts any session but carries no media.
//!
//! Every parser takes [`Limits`] where its input is a body, and returns [`DocError`],
//! whose text is a short reason fit for a SIP reason phrase; none of them panics on any
//! input (they are fuzzed, see `fuzz/`).

#![warn(missing_docs)]

pub mod conference_info;
pub mod cpim;
mod datetime;
pub mod error;
pub mod limits;
pub mod refer;
mod replaces;
pub mod sdp;
pub mod sipfrag;

pub use conference_info::{
    ConferenceInfo, DisconnectionMethod, ElementState, Endpoint, EndpointStatus, JoiningMethod,
    User,
};
pub use cpim::{Cpim, now_datetime};
pub use error::DocError;
pub use limits::Limits;
pub use refer::{ReferTo, Replaces, parse_refer_to};
pub use sdp::{MediaLine, Offer, focus_answer, inactive_offer, parse_offer};
