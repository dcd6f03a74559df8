//! The XML layer shared by Herald's document crates (`herald-pidf`,
//! `herald-conference-docs`), and nothing that does I/O.
//!
//! - [`parse`] reads a body into an owned, namespace-resolved [`Element`] tree under
//!   [`Limits`], refusing whatever a hostile peer could use against a server: non-UTF-8
//!   input, a DTD (so no entity expansion, ever), undeclared prefixes, mismatched or
//!   unclosed tags, duplicate attributes, text or a second element outside the root,
//!   characters XML 1.0 does not allow, and anything over the limits. Document readers
//!   then walk the tree and never see prefixes, entities or a DTD.
//! - [`XmlWriter`], [`escape_text`] and [`escape_attr`] write documents so that hostile
//!   text (an `&`, a `</note><x>`, a control character) can never change their
//!   structure.
//!
//! Errors are [`XmlError`]s; each document crate maps them into its own error type.

#![warn(missing_docs)]

mod chars;
mod element;
mod error;
mod limits;
mod parse;
mod write;

pub use chars::{is_xml_char, is_xml_space};
pub use element::{Attr, Element, XML_NAMESPACE};
pub use error::{XmlError, shown};
pub use limits::Limits;
pub use parse::parse;
pub use write::{DECLARATION, XmlWriter, escape_attr, escape_text};
