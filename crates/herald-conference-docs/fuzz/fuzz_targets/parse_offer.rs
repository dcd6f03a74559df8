//! Any bytes: `sdp::parse_offer` never panics; the rejecting answer to an accepted
//! offer is itself accepted and holds the same streams, in order, with port 0.
#![no_main]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use herald_conference_docs::{Limits, parse_offer, focus_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = parse_offer(data, &Limits::default()) else {
        return;
    };
    let address = match data.first() {
        Some(b) if b % 2 == 0 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    };
    let answer = focus_answer(&offer, address, u64::MAX);
    let roomy = Limits {
        max_bytes: usize::MAX,
        ..Limits::default()
    };
    let back = parse_offer(answer.as_bytes(), &roomy)
        .unwrap_or_else(|e| panic!("our answer refused: {e}\n{answer}"));
    assert_eq!(back.media.len(), offer.media.len(), "{answer}");
    for (ours, theirs) in back.media.iter().zip(&offer.media) {
        assert_eq!(ours.port, 0);
        assert_eq!(ours.media, theirs.media);
        assert_eq!(ours.proto, theirs.proto);
        assert_eq!(ours.formats, theirs.formats);
    }
});
