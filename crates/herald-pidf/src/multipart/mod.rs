//! `multipart/related` bodies of resource-list NOTIFYs (RFC 4662 §5, RFC 2387): the
//! RLMI document as the root part, then one part per resource state. Built with
//! [`build_rlmi_notify`], read with [`parse_multipart_related`] and
//! [`parse_rlmi_notify`].

mod build;
mod ids;
mod media_type;
mod parse;

pub use build::{MultipartBody, ResourcePart, build_rlmi_notify};
pub use ids::{Boundary, random_content_id};
pub use media_type::MediaType;
pub use parse::{RlmiNotify, parse_multipart_related, parse_rlmi_notify};

/// One body part as read from a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPart {
    /// Its headers in order (names as written, values unfolded and trimmed).
    pub headers: Vec<(String, String)>,
    /// Its Content-Type value, if it had one.
    pub content_type: Option<String>,
    /// Its Content-ID without angle brackets, if it had one.
    pub content_id: Option<String>,
    /// Its body bytes.
    pub body: Vec<u8>,
}

impl BodyPart {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the part's media type is `essence` (e.g. `application/pidf+xml`).
    pub fn is(&self, essence: &str) -> bool {
        self.content_type
            .as_deref()
            .and_then(|ct| MediaType::parse(ct).ok())
            .is_some_and(|m| m.is(essence))
    }
}

/// A parsed `multipart/related` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartRelated {
    /// The `type` parameter: the root part's media type.
    pub root_type: Option<String>,
    /// The `start` parameter without angle brackets: the root part's Content-ID.
    pub start: Option<String>,
    /// The parts in order.
    pub parts: Vec<BodyPart>,
}

impl MultipartRelated {
    /// The root part: the one named by `start`, else the first (RFC 2387 §3.2).
    pub fn root(&self) -> Option<&BodyPart> {
        match &self.start {
            Some(start) => self.part_by_cid(start),
            None => self.parts.first(),
        }
    }

    /// The part whose Content-ID is `cid` (without angle brackets).
    pub fn part_by_cid(&self, cid: &str) -> Option<&BodyPart> {
        self.parts
            .iter()
            .find(|p| p.content_id.as_deref() == Some(cid))
    }
}
