//! Serialisation: start line, headers in order under their canonical names, a correct
//! Content-Length, the empty line, the body.
use crate::{
    header::{HeaderName, Headers},
    message::{Request, Response},
};

pub(crate) fn request(req: &Request, out: &mut Vec<u8>) {
    out.reserve(estimate(&req.headers, req.body.len()));
    let start = out.len();
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    req.uri.write_to(out);
    out.extend_from_slice(b" SIP/2.0");
    end_line(out, start);
    headers_and_body(&req.headers, &req.body, out);
}

pub(crate) fn response(resp: &Response, out: &mut Vec<u8>) {
    out.reserve(estimate(&resp.headers, resp.body.len()));
    let start = out.len();
    out.extend_from_slice(b"SIP/2.0 ");
    crate::digits::push_decimal(out, resp.status);
    out.push(b' ');
    out.extend_from_slice(resp.reason.as_bytes());
    end_line(out, start);
    headers_and_body(&resp.headers, &resp.body, out);
}

fn estimate(headers: &Headers, body: usize) -> usize {
    let header_bytes: usize = headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.len() + 4)
        .sum();
    128 + header_bytes + body
}

/// Ends the line begun at `start`. Values built in code could hold CR or LF; written
/// as is they would inject header lines, so they become SP.
fn end_line(out: &mut Vec<u8>, start: usize) {
    if let Some(line) = out.get_mut(start..)
        && memchr::memchr2(b'\r', b'\n', line).is_some()
    {
        for b in line.iter_mut().filter(|b| **b == b'\r' || **b == b'\n') {
            *b = b' ';
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn headers_and_body(headers: &Headers, body: &[u8], out: &mut Vec<u8>) {
    for header in headers.iter() {
        // Whatever Content-Length the list holds, the one written must match the body.
        if header.name == HeaderName::ContentLength {
            continue;
        }
        let start = out.len();
        out.extend_from_slice(header.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value.as_bytes());
        end_line(out, start);
    }
    out.extend_from_slice(b"Content-Length: ");
    crate::digits::push_decimal(out, body.len());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}
