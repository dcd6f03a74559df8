//! Any bytes: `sdp::parse_offer` never panics; the answer to an accepted offer is
//! itself accepted and holds the same streams in order: the first RTP stream with a
//! port and a static payload type kept at port 9 with that one payload type, every
//! other stream refused with port 0 and its formats.
#![no_main]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use herald_conference_docs::{Limits, focus_answer, parse_offer};
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
    let kept = offer.media.iter().position(|line| {
        line.port != 0
            && line.proto.starts_with("RTP/")
            && line.formats.iter().any(|f| is_static(f))
    });
    for (at, (ours, theirs)) in back.media.iter().zip(&offer.media).enumerate() {
        assert_eq!(ours.media, theirs.media);
        assert_eq!(ours.proto, theirs.proto);
        if Some(at) == kept {
            assert_eq!(ours.port, 9, "{answer}");
            let first_static = theirs.formats.iter().find(|f| is_static(f));
            assert_eq!(ours.formats.first(), first_static, "{answer}");
            assert_eq!(ours.formats.len(), 1, "{answer}");
        } else {
            assert_eq!(ours.port, 0, "{answer}");
            assert_eq!(ours.formats, theirs.formats);
        }
    }
});

/// An RTP payload type below 96: it needs no `rtpmap` (RFC 3551).
fn is_static(format: &str) -> bool {
    format.parse::<u8>().is_ok_and(|pt| pt < 96)
}
