//! Property-style robustness: truncated prefixes and single-byte mutations of every
//! torture message go through `Message::parse` and `framing::frame` without panicking,
//! and whatever parses keeps the parser's promises (typed accessors of a parsed request
//! succeed, framing never claims more bytes than it was given).
use bytes::Bytes;
use herald_sip::{
    Message,
    framing::{Frame, frame},
    message::ParseLimits,
};
use std::fs;

fn torture_files() -> Vec<Vec<u8>> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/rfc4475"
    );
    let mut files: Vec<Vec<u8>> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .map(|p| fs::read(p).unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 49);
    files
}

/// Bytes that matter to the grammar, plus bytes that break UTF-8.
const MUTATIONS: [u8; 14] = [
    0, b' ', b'\t', b'\r', b'\n', b',', b';', b'"', b'<', b'>', b':', b'%', 0x80, 0xff,
];

fn exercise(input: &[u8]) {
    let limits = ParseLimits::default();
    if let Ok(Message::Request(request)) = Message::parse(Bytes::copy_from_slice(input), &limits) {
        assert!(request.cseq().is_ok());
        assert!(request.from().is_ok());
        assert!(request.to().is_ok());
        assert!(request.vias().is_ok());
        assert!(request.contacts().is_ok());
        let _ = (
            request.max_forwards(),
            request.expires(),
            request.to_bytes(),
        );
    }
    match frame(input, 4096) {
        Ok(Frame::Message { len }) | Ok(Frame::KeepAlive { len, .. }) => {
            assert!(len > 0 && len <= input.len())
        }
        Ok(Frame::Incomplete) | Err(_) => {}
    }
    // A smaller limit exercises the size checks.
    let _ = frame(input, 64);
    let small = ParseLimits {
        max_message_size: 200,
        max_headers: 5,
        max_vias: 2,
    };
    let _ = Message::parse(Bytes::copy_from_slice(input), &small);
}

#[test]
fn truncated_prefixes_never_panic() {
    for file in torture_files() {
        for end in 0..=file.len() {
            exercise(&file[..end]);
        }
    }
}

#[test]
fn single_byte_mutations_never_panic() {
    for file in torture_files() {
        let mut mutated = file.clone();
        for at in 0..file.len() {
            // Three of the mutation bytes per position, rotating, keeps the run short
            // while every byte still lands on every kind of grammar position.
            for k in 0..3 {
                mutated[at] = MUTATIONS[(at + k * 5) % MUTATIONS.len()];
                exercise(&mutated);
            }
            mutated[at] = file[at];
        }
    }
}
