//! Finding message boundaries in a byte stream (TCP, TLS): RFC 3261 §18.3.
use crate::{
    chars::{parse_u32, trim_wsp},
    error::{ParseError, ParseErrorKind},
    lines::{RawHeaders, unfold},
};

/// What lies at the front of a stream buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Need more bytes.
    Incomplete,
    /// `n` bytes of CRLF keep-alive at the front (RFC 5626 §3.5.1: a double CRLF "ping"
    /// is answered with a single CRLF "pong"; a lone CRLF is a pong).
    KeepAlive {
        /// Bytes to consume.
        len: usize,
        /// A double-CRLF ping, which wants a single CRLF back.
        ping: bool,
    },
    /// A whole message of `len` bytes (headers + Content-Length body) at the front.
    Message {
        /// Bytes to consume.
        len: usize,
    },
}

/// Looks at the front of `buf`. Errors (a missing or bad Content-Length on a stream,
/// headers beyond `max_size` without an end) mean the stream cannot be resynchronised
/// and the connection should be closed after answering 400 if possible.
///
/// A buffer holding only `\r\n` (or `\r\n\r`) is `Incomplete`: it may be the first
/// half of a ping split across reads, and calling it a pong would leave that ping
/// unanswered. It is reported as a pong once anything else follows.
pub fn frame(buf: &[u8], max_size: usize) -> Result<Frame, ParseError> {
    match buf {
        [] | [b'\r'] | [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] => return Ok(Frame::Incomplete),
        [b'\r', b'\n', b'\r', b'\n', ..] => return Ok(Frame::KeepAlive { len: 4, ping: true }),
        [b'\r', b'\n', ..] => {
            return Ok(Frame::KeepAlive {
                len: 2,
                ping: false,
            });
        }
        _ => {}
    }
    let window = buf.get(..max_size).unwrap_or(buf);
    let Some(blank) = memchr::memmem::find(window, b"\r\n\r\n") else {
        return if buf.len() >= max_size {
            Err(too_large(format!(
                "no end of headers within {max_size} bytes"
            )))
        } else {
            Ok(Frame::Incomplete)
        };
    };
    let head = window.get(..blank + 2).unwrap_or_default();
    let body_len = stream_content_length(head)?;
    let len = (blank + 4).saturating_add(body_len);
    if len > max_size {
        return Err(too_large(format!(
            "message of {len} bytes exceeds the {max_size} byte limit"
        )));
    }
    Ok(if buf.len() < len {
        Frame::Incomplete
    } else {
        Frame::Message { len }
    })
}

fn too_large(reason: String) -> ParseError {
    ParseError {
        kind: ParseErrorKind::TooLarge,
        reason: reason.into(),
    }
}

/// The Content-Length of a head (start line + header lines, each ending in CRLF).
/// RFC 3261 §18.3 makes it mandatory on streams: without it the end of the message
/// cannot be known.
fn stream_content_length(head: &[u8]) -> Result<usize, ParseError> {
    let Some(start_line_lf) = memchr::memchr(b'\n', head) else {
        return Err(ParseError::bad("no start line"));
    };
    let mut found: Option<u32> = None;
    // Malformed lines are the parser's business; framing only needs this one header.
    for raw in RawHeaders::new(head, start_line_lf + 1).flatten() {
        let name = head.get(raw.name).unwrap_or_default();
        if !name.eq_ignore_ascii_case(b"content-length") && !name.eq_ignore_ascii_case(b"l") {
            continue;
        }
        let value = head
            .get(raw.value)
            .and_then(|v| std::str::from_utf8(v).ok())
            .unwrap_or_default();
        let value = if raw.folded {
            unfold(value)
        } else {
            value.to_owned()
        };
        let n = parse_u32(trim_wsp(&value)).ok_or_else(|| {
            ParseError::bad(format!("invalid Content-Length `{}`", value.escape_debug()))
        })?;
        if found.is_some_and(|f| f != n) {
            return Err(ParseError::bad("conflicting Content-Length values"));
        }
        found = Some(n);
    }
    let n = found.ok_or_else(|| ParseError::bad("missing Content-Length on a stream transport"))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}
