//! Finding message boundaries in a byte stream (TCP, TLS): RFC 3261 §18.3.
use crate::error::ParseError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Need more bytes.
    Incomplete,
    /// `n` bytes of CRLF keep-alive at the front (RFC 5626 §3.5.1: a double CRLF "ping"
    /// is answered with a single CRLF "pong"; a lone CRLF is a pong).
    KeepAlive { len: usize, ping: bool },
    /// A whole message of `len` bytes (headers + Content-Length body) at the front.
    Message { len: usize },
}

/// Looks at the front of `buf`. Errors (a missing or bad Content-Length on a stream,
/// headers beyond `max_size` without an end) mean the stream cannot be resynchronised
/// and the connection should be closed after answering 400 if possible.
pub fn frame(buf: &[u8], max_size: usize) -> Result<Frame, ParseError> { todo!() }
