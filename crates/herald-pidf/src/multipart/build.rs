//! Assembling the `multipart/related` body of a resource-list NOTIFY.

use std::collections::HashSet;

use super::ids::{Boundary, is_valid_content_id};
use crate::error::PidfError;
use crate::rlmi::{self, RlmiList};

/// The state of one resource, to be carried in its own body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePart {
    /// The Content-ID (without angle brackets) an instance of the RLMI refers to.
    pub cid: String,
    /// The part's Content-Type.
    pub content_type: String,
    /// The part's body.
    pub body: Vec<u8>,
}

impl ResourcePart {
    /// A PIDF document as the state of the instance `cid`.
    pub fn pidf(cid: impl Into<String>, document: impl Into<Vec<u8>>) -> Self {
        ResourcePart {
            cid: cid.into(),
            content_type: "application/pidf+xml;charset=\"UTF-8\"".to_owned(),
            body: document.into(),
        }
    }
}

/// A finished body and the Content-Type header value that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartBody {
    /// `multipart/related;type="application/rlmi+xml";start="<cid>";boundary="..."`.
    pub content_type: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Builds a resource-list NOTIFY body: the RLMI document `list` as the root part (with
/// Content-ID `root_cid`), then `parts` in order.
///
/// Refuses inconsistent input rather than sending a body a client cannot resolve: every
/// part's cid must be referenced by an instance of `list` and every instance cid must
/// have a part, cids must be unique and usable in a header, and `boundary` must not
/// occur in any part.
pub fn build_rlmi_notify(
    list: &RlmiList,
    root_cid: &str,
    parts: &[ResourcePart],
    boundary: &Boundary,
) -> Result<MultipartBody, PidfError> {
    for cid in std::iter::once(root_cid).chain(parts.iter().map(|p| p.cid.as_str())) {
        if !is_valid_content_id(cid) {
            return Err(PidfError::invalid("bad Content-ID"));
        }
    }
    let referenced: HashSet<&str> = list.cids().collect();
    let mut seen: HashSet<&str> = HashSet::from([root_cid]);
    for part in parts {
        if !seen.insert(part.cid.as_str()) {
            return Err(PidfError::invalid("duplicate Content-ID"));
        }
        if !referenced.contains(part.cid.as_str()) {
            return Err(PidfError::invalid(
                "part not referenced by the RLMI document",
            ));
        }
        if part.content_type.contains(['\r', '\n']) {
            return Err(PidfError::invalid("bad part Content-Type"));
        }
    }
    if referenced
        .iter()
        .any(|cid| !seen.contains(cid) || *cid == root_cid)
    {
        return Err(PidfError::invalid("RLMI instance without its part"));
    }

    let rlmi_document = list.to_xml();
    let delimiter = format!("--{}", boundary.as_str());
    let contains_delimiter = |body: &[u8]| {
        body.windows(delimiter.len())
            .any(|w| w == delimiter.as_bytes())
    };
    if contains_delimiter(rlmi_document.as_bytes())
        || parts.iter().any(|p| contains_delimiter(&p.body))
    {
        return Err(PidfError::invalid("boundary occurs in a body part"));
    }

    let size = rlmi_document.len()
        + parts
            .iter()
            .map(|p| p.body.len() + p.cid.len() + 128)
            .sum::<usize>()
        + 256;
    let mut body = Vec::with_capacity(size);
    let root_type = format!("{};charset=\"UTF-8\"", rlmi::CONTENT_TYPE);
    write_part(
        &mut body,
        &delimiter,
        root_cid,
        &root_type,
        rlmi_document.as_bytes(),
    );
    for part in parts {
        write_part(
            &mut body,
            &delimiter,
            &part.cid,
            &part.content_type,
            &part.body,
        );
    }
    body.extend_from_slice(delimiter.as_bytes());
    body.extend_from_slice(b"--\r\n");

    let content_type = format!(
        "multipart/related;type=\"{}\";start=\"<{root_cid}>\";boundary=\"{}\"",
        rlmi::CONTENT_TYPE,
        boundary.as_str()
    );
    Ok(MultipartBody { content_type, body })
}

fn write_part(out: &mut Vec<u8>, delimiter: &str, cid: &str, content_type: &str, body: &[u8]) {
    out.extend_from_slice(delimiter.as_bytes());
    out.extend_from_slice(b"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <");
    out.extend_from_slice(cid.as_bytes());
    out.extend_from_slice(b">\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}
