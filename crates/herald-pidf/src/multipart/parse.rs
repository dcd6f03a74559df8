//! Reading `multipart/related` bodies (RFC 2046 §5.1, RFC 2387), and resource-list
//! NOTIFY bodies on top of them (RFC 4662 §5).
//!
//! Delimiters are recognised at the start of a line; CRLF and bare LF line ends are
//! both accepted (some stacks send LF), as is transport padding after a delimiter.
//! The preamble and epilogue are ignored; a body without its close delimiter is
//! refused. Nested multiparts are returned as opaque parts.

use memchr::memmem;

use super::media_type::MediaType;
use super::{BodyPart, MultipartRelated};
use crate::error::{ErrorKind, PidfError};
use crate::limits::Limits;
use crate::rlmi::{self, RlmiList, parse_rlmi};

/// Most headers one part may have.
const MAX_PART_HEADERS: usize = 32;

/// Parses a `multipart/related` body given its Content-Type header value.
pub fn parse_multipart_related(
    content_type: &str,
    body: &[u8],
    limits: &Limits,
) -> Result<MultipartRelated, PidfError> {
    if body.len() > limits.max_bytes {
        return Err(PidfError::new(
            ErrorKind::TooLarge,
            format!("body larger than {} bytes", limits.max_bytes),
        ));
    }
    let media_type = MediaType::parse(content_type)?;
    if !media_type.is("multipart/related") {
        return Err(PidfError::invalid("not multipart/related"));
    }
    let boundary = media_type
        .param("boundary")
        .ok_or_else(|| PidfError::malformed("multipart without boundary"))?;
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(PidfError::malformed("bad multipart boundary"));
    }
    let start = media_type
        .param("start")
        .map(|s| strip_angle_brackets(s).to_owned());
    let root_type = media_type.param("type").map(str::to_owned);

    let mut parts = Vec::new();
    for content in part_contents(body, boundary.as_bytes())? {
        if parts.len() == limits.max_parts {
            return Err(PidfError::too_complex(format!(
                "more than {} body parts",
                limits.max_parts
            )));
        }
        parts.push(part(content)?);
    }
    if parts.is_empty() {
        return Err(PidfError::malformed("multipart body without parts"));
    }
    Ok(MultipartRelated {
        root_type,
        start,
        parts,
    })
}

/// The bytes of each part (headers and body) between the delimiters.
fn part_contents<'a>(body: &'a [u8], boundary: &[u8]) -> Result<Vec<&'a [u8]>, PidfError> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delimiter);

    let mut contents = Vec::new();
    // Where the current part's content starts, once the first delimiter was seen.
    let mut content_start: Option<usize> = None;
    let mut search_from = 0;
    while let Some(found) = finder.find(body.get(search_from..).unwrap_or_default()) {
        let at = search_from + found;
        search_from = at + delimiter.len();
        let at_line_start = at == 0 || body.get(at - 1) == Some(&b'\n');
        if !at_line_start {
            continue;
        }
        let after = body.get(at + delimiter.len()..).unwrap_or_default();
        let closing = after.starts_with(b"--");
        let line_end = if closing {
            Some(0)
        } else {
            // Transport padding, then the line break.
            let padding = after
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            let rest = after.get(padding..).unwrap_or_default();
            if rest.starts_with(b"\r\n") {
                Some(padding + 2)
            } else if rest.starts_with(b"\n") {
                Some(padding + 1)
            } else {
                None // the boundary text is only the start of a longer line
            }
        };
        let Some(line_end) = line_end else { continue };
        if let Some(start) = content_start {
            // The line break before the delimiter belongs to the delimiter.
            let mut end = at.saturating_sub(1);
            if end > start && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            contents.push(body.get(start..end.max(start)).unwrap_or_default());
        }
        if closing {
            return Ok(contents);
        }
        content_start = Some(at + delimiter.len() + line_end);
    }
    Err(PidfError::malformed(if content_start.is_some() {
        "multipart body not terminated"
    } else {
        "multipart boundary not found"
    }))
}

/// Splits one part's content into headers and body.
fn part(content: &[u8]) -> Result<BodyPart, PidfError> {
    let (head, body) = split_head(content);
    let head = std::str::from_utf8(head)
        .map_err(|_| PidfError::malformed("part headers are not UTF-8"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        if line.starts_with([' ', '\t']) {
            // A folded continuation of the previous header.
            let (_, value) = headers
                .last_mut()
                .ok_or_else(|| PidfError::malformed("bad part header"))?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| PidfError::malformed("bad part header"))?;
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PidfError::malformed("bad part header"));
        }
        if headers.len() == MAX_PART_HEADERS {
            return Err(PidfError::too_complex("too many part headers"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let find = |wanted: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.clone())
    };
    let content_type = find("Content-Type");
    let content_id = find("Content-ID").map(|v| strip_angle_brackets(&v).to_owned());
    Ok(BodyPart {
        headers,
        content_type,
        content_id,
        body: body.to_vec(),
    })
}

/// Headers end at the first empty line; a part starting with an empty line has none.
fn split_head(content: &[u8]) -> (&[u8], &[u8]) {
    if let Some(body) = content
        .strip_prefix(b"\r\n")
        .or_else(|| content.strip_prefix(b"\n"))
    {
        return (&[], body);
    }
    let crlf = memmem::find(content, b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = memmem::find(content, b"\n\n").map(|i| (i, i + 2));
    let split = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match split {
        Some((head_end, body_start)) => (
            content.get(..head_end).unwrap_or_default(),
            content.get(body_start..).unwrap_or_default(),
        ),
        None => (content, &[]),
    }
}

fn strip_angle_brackets(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value)
}

/// A resource-list NOTIFY body: the RLMI document and the other parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RlmiNotify {
    /// The root RLMI document.
    pub list: RlmiList,
    /// Every part but the root, in order.
    pub parts: Vec<BodyPart>,
}

impl RlmiNotify {
    /// The part carrying the state of the instance with `cid`.
    pub fn part_by_cid(&self, cid: &str) -> Option<&BodyPart> {
        self.parts
            .iter()
            .find(|p| p.content_id.as_deref() == Some(cid))
    }
}

/// Parses a resource-list NOTIFY body: a `multipart/related` whose root is an RLMI
/// document. Every part of the body is subject to `limits` (the RLMI document too).
pub fn parse_rlmi_notify(
    content_type: &str,
    body: &[u8],
    limits: &Limits,
) -> Result<RlmiNotify, PidfError> {
    let multipart = parse_multipart_related(content_type, body, limits)?;
    let root = multipart
        .root()
        .ok_or_else(|| PidfError::invalid("root part not found"))?;
    if !root.is(rlmi::CONTENT_TYPE) {
        return Err(PidfError::invalid("root part is not application/rlmi+xml"));
    }
    let list = parse_rlmi(&root.body, limits)?;
    let root_cid = root.content_id.clone();
    let parts = multipart
        .parts
        .into_iter()
        .enumerate()
        .filter(|(i, p)| {
            if root_cid.is_some() {
                p.content_id != root_cid
            } else {
                *i != 0
            }
        })
        .map(|(_, p)| p)
        .collect();
    Ok(RlmiNotify { list, parts })
}
