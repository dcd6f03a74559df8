//! Group IM conferences: Herald's conference focus (RFC 4353/4579 style), the job
//! of the IM conferencing unit of the product Herald replaces.
//!
//! - An INVITE to `sip:conf-factory@DOMAIN` makes a conference; the 2xx names it,
//!   `sip:conf-<128 random bits>@DOMAIN`, in its Contact ([`join`]).
//! - Every participant has a dialog with the focus; a MESSAGE in it reaches every
//!   other participant naming its sender ([`fanout`]), through a bounded queue per
//!   participant ([`outbox`]).
//! - REFER in that dialog invites someone; with `Replaces` it moves the other party of
//!   a two-party session into the conference ([`refer`]).
//! - `SUBSCRIBE` with `Event: conference` gives the roster (RFC 4575, [`roster`]).
//! - Policy (who may create, size, who may join), archiving of conference IM and a
//!   monitoring record per conference in the store.
mod conference;
mod config;
mod fanout;
mod id;
mod join;
mod outbox;
mod refer;
mod roster;
mod service;

pub use config::ConferenceConfig;
pub use id::{ConfId, FACTORY_USER, FocusTarget, PREFIX};
pub use service::{ConferenceService, EVENT_PACKAGE, Stats};
