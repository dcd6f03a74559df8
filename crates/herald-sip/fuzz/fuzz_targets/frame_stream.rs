//! Any bytes as a stream: framing never panics, never reports more bytes than it was
//! given or than the limit, and cutting a stream into frames one by one terminates.
#![no_main]
use bytes::Bytes;
use herald_sip::{
    Message,
    framing::{Frame, frame},
    message::ParseLimits,
};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match frame(rest, MAX) {
            Ok(Frame::Incomplete) | Err(_) => break,
            Ok(Frame::KeepAlive { len, .. }) => {
                assert!(len == 2 || len == 4);
                rest = &rest[len..];
            }
            Ok(Frame::Message { len }) => {
                assert!(len <= rest.len() && len <= MAX && len > 0);
                let _ = Message::parse(
                    Bytes::copy_from_slice(&rest[..len]),
                    &ParseLimits::default(),
                );
                rest = &rest[len..];
            }
        }
    }
});
