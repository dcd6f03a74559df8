//! Herald's presence documents: everything the presence service needs to read, judge
//! and write presence bodies, and nothing that does I/O.
//!
//! - [`parse_pidf`]: validates a PUBLISH body (`application/pidf+xml`, RFC 3863, with
//!   the data model of RFC 4479, RPID of RFC 4480, CIPID of RFC 4482 and the Herald
//!   extension below) into a [`Publication`].
//! - [`availability`]: the availability scale and the one table mapping PIDF/RPID onto
//!   it and back.
//! - [`aggregate()`](aggregate::aggregate): one user's presence from all their endpoints.
//! - [`render`]: the document a watcher receives at a given [`AccessLevel`].
//! - [`watcherinfo`]: `application/watcherinfo+xml` (RFC 3858), built and parsed.
//! - [`rlmi`] and [`multipart`]: `application/rlmi+xml` and the `multipart/related`
//!   bodies of resource-list NOTIFYs (RFC 4662), built and parsed.
//!
//! Every parser takes [`Limits`] and returns [`PidfError`] with a short reason fit for
//! a SIP reason phrase; none of them panics on any input (they are fuzzed).
//!
//! # The Herald availability extension
//!
//! Namespace **`urn:herald:params:xml:ns:pidf:availability`** (prefix `ha` by
//! convention). Its elements appear as children of the RFC 4479 `<dm:person>`:
//!
//! ```xml
//! <dm:person id="p1">
//!   <rpid:activities><rpid:busy/></rpid:activities>
//!   <ha:availability>9000</ha:availability>
//!   <ha:card>
//!     <ha:display-name>Alice Example</ha:display-name>
//!     <ha:title>Engineer</ha:title>
//!     <ha:email>alice@example.com</ha:email>
//!     <ha:phone>+1 555 0100</ha:phone>
//!   </ha:card>
//!   <ha:out-of-office xml:lang="en">Back on Monday</ha:out-of-office>
//! </dm:person>
//! ```
//!
//! - `availability`: a decimal integer from 0 to 99999 on Lync's availability scale
//!   (see [`availability`]). Published by a client, it wins over the number derived
//!   from RPID, so clients can say Do Not Disturb or Be Right Back, which RPID lacks.
//!   In documents Herald sends, it is the user's aggregated number.
//! - `card`: the contact card; every child is optional.
//! - `out-of-office`: the out-of-office note, with an optional `xml:lang`.
//!
//! Clients that do not know the namespace ignore it (it is an ordinary PIDF extension
//! without `mustUnderstand`) and still get standard PIDF + RPID.

#![warn(missing_docs)]

pub mod access;
pub mod activity;
pub mod aggregate;
pub mod availability;
pub mod error;
pub mod limits;
pub mod model;
pub mod multipart;
pub mod namespaces;
mod parse;
mod render;
pub mod rlmi;
pub mod watcherinfo;

pub use access::AccessLevel;
pub use activity::Activity;
pub use aggregate::{Aggregate, EndpointState, aggregate};
pub use availability::{Availability, Band};
pub use error::{ErrorKind, PidfError};
pub use limits::Limits;
pub use model::{
    Basic, Contact, ContactCard, Device, Identity, Note, Person, PlaceType, Publication,
    TimeOffset, Tuple, UserInput,
};
pub use parse::parse_pidf;
pub use render::render;
