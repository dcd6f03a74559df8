//! Serialisation: start line, headers in order under their canonical names, a correct
//! Content-Length, the empty line, the body.
use crate::{
    header::{HeaderName, Headers},
    message::{Request, Response},
};

pub(crate) fn request(req: &Request, out: &mut Vec<u8>) {
    out.reserve(256 + req.body.len());
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    req.uri.write_to(out);
    out.extend_from_slice(b" SIP/2.0\r\n");
    headers_and_body(&req.headers, &req.body, out);
}

pub(crate) fn response(resp: &Response, out: &mut Vec<u8>) {
    out.reserve(256 + resp.body.len());
    out.extend_from_slice(format!("SIP/2.0 {} ", resp.status).as_bytes());
    out.extend_from_slice(resp.reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    headers_and_body(&resp.headers, &resp.body, out);
}

fn headers_and_body(headers: &Headers, body: &[u8], out: &mut Vec<u8>) {
    for header in headers.iter() {
        // Whatever Content-Length the list holds, the one written must match the body.
        if header.name == HeaderName::ContentLength {
            continue;
        }
        out.extend_from_slice(header.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}
