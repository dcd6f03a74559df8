//! SDP (RFC 4566) as far as a focus that carries no media needs it: reading the `m=`
//! lines of an offer and answering so that the session is accepted but nothing flows,
//! so that clients which cannot offer `m=message` (PJSIP, phones) still get a dialog in
//! which to send and receive SIP MESSAGEs. Refusing every stream (port 0, RFC 3264 §6)
//! is not enough: PJSIP, for one, ends a call left with no stream at all. So one RTP
//! stream is kept, `a=inactive` (RFC 3264 §5.1: no media either way), and the others
//! are refused.

use std::net::IpAddr;

use crate::error::{DocError, shown};
use crate::limits::{Limits, check_size};

/// The MIME type of SDP bodies.
pub const CONTENT_TYPE: &str = "application/sdp";

/// One `m=` line: `m=<media> <port> <proto> <fmt> ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// `audio`, `video`, `message`, ...
    pub media: String,
    /// The port (a `/<number of ports>` suffix is dropped); 0 for a stream the offerer
    /// has already disabled.
    pub port: u16,
    /// `RTP/AVP`, `TCP/MSRP`, ...
    pub proto: String,
    /// The media formats, as written (payload types, `*`, ...).
    pub formats: Vec<String>,
}

/// The part of an SDP offer the focus answers: its streams, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Every `m=` line, in order.
    pub media: Vec<MediaLine>,
}

/// Reads an offer. Lines may end with CRLF or LF; blank lines and lines other than
/// `m=` are skipped (their content is not checked), but the first line must be `v=`.
/// An offer with no `m=` line is accepted.
///
/// Refused: input over `limits.max_bytes`, more than `limits.max_elements` `m=` lines,
/// a missing `v=`, an `m=` line that is not UTF-8, lacks a field or a format, or whose
/// port is not a number from 0 to 65535.
pub fn parse_offer(body: &[u8], limits: &Limits) -> Result<Offer, DocError> {
    check_size(body, limits)?;
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty());
    if !lines.next().is_some_and(|first| first.starts_with(b"v=")) {
        return Err(DocError::malformed("SDP does not start with v="));
    }
    let mut media = Vec::new();
    for line in lines {
        let Some(value) = line.strip_prefix(b"m=") else {
            continue;
        };
        if media.len() >= limits.max_elements {
            return Err(DocError::too_complex(format!(
                "more than {} m= lines",
                limits.max_elements
            )));
        }
        media.push(media_line(value)?);
    }
    Ok(Offer { media })
}

fn media_line(value: &[u8]) -> Result<MediaLine, DocError> {
    let value =
        std::str::from_utf8(value).map_err(|_| DocError::malformed("m= line is not UTF-8"))?;
    let bad = || DocError::malformed(format!("bad m= line {}", shown(value)));
    // Controls would end up in our answer; RFC 4566 fields never hold them.
    if value.chars().any(|c| c.is_control()) {
        return Err(bad());
    }
    let mut fields = value.split(' ').filter(|f| !f.is_empty());
    let media = fields.next().ok_or_else(bad)?;
    let port = fields.next().ok_or_else(bad)?;
    let port = port.split_once('/').map_or(port, |(port, _count)| port);
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let port = port.parse().map_err(|_| bad())?;
    let proto = fields.next().ok_or_else(bad)?;
    let formats: Vec<String> = fields.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(bad());
    }
    Ok(MediaLine {
        media: media.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
    })
}

/// The focus's answer: `v=0`, `o=herald <id> <id> IN IP4|IP6 <address>`, `s=-`,
/// `c=IN IP4|IP6 <address>`, `t=0 0`, then each offered `m=` line in order. The first
/// RTP stream (proto `RTP/...`) offering a static payload type (below 96, which needs
/// no `rtpmap`) is kept with port 9, that one payload type and `a=inactive`; every
/// other stream gets port 0 with its media, proto and formats (refused). An offer
/// without streams gets an answer without streams. CRLF line ends.
pub fn focus_answer(offer: &Offer, address: IpAddr, session_id: u64) -> String {
    let mut sdp = session(address, session_id);
    let mut kept = false;
    for line in &offer.media {
        let static_type = line
            .formats
            .iter()
            .find(|f| f.parse::<u8>().is_ok_and(|pt| pt < 96));
        match static_type {
            Some(pt) if !kept && line.port != 0 && line.proto.starts_with("RTP/") => {
                kept = true;
                sdp.push_str(&format!(
                    "m={} 9 {} {pt}\r\na=inactive\r\n",
                    line.media, line.proto
                ));
            }
            _ => sdp.push_str(&format!(
                "m={} 0 {} {}\r\n",
                line.media,
                line.proto,
                line.formats.join(" ")
            )),
        }
    }
    sdp
}

/// The focus's own offer when an INVITE came without SDP (a delayed offer): the session
/// lines of [`focus_answer`] and one inactive audio stream (`m=audio 9 RTP/AVP 0`,
/// `a=inactive`): a stream every client can answer, on which nothing will flow (the
/// focus carries IM as SIP MESSAGEs in the dialog).
pub fn inactive_offer(address: IpAddr, session_id: u64) -> String {
    let mut sdp = session(address, session_id);
    sdp.push_str("m=audio 9 RTP/AVP 0\r\na=inactive\r\n");
    sdp
}

fn session(address: IpAddr, session_id: u64) -> String {
    let family = match address {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    format!(
        "v=0\r\no=herald {session_id} {session_id} IN {family} {address}\r\ns=-\r\n\
         c=IN {family} {address}\r\nt=0 0\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const PJSIP_AUDIO: &str = "v=0\r\n\
o=- 3912345678 3912345678 IN IP4 192.0.2.10\r\n\
s=pjmedia\r\n\
b=AS:84\r\n\
t=0 0\r\n\
a=X-nat:0\r\n\
m=audio 4000 RTP/AVP 96 97 98 99 3 0 8 9 120 121 122\r\n\
c=IN IP4 192.0.2.10\r\n\
b=TIAS:64000\r\n\
a=rtcp:4001 IN IP4 192.0.2.10\r\n\
a=sendrecv\r\n\
a=rtpmap:96 speex/16000\r\n\
m=video 0 RTP/AVP 97\r\n";

    fn parsed(text: &str) -> Offer {
        parse_offer(text.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn reads_the_streams_of_an_offer() {
        let offer = parsed(PJSIP_AUDIO);
        assert_eq!(offer.media.len(), 2);
        assert_eq!(
            offer.media[0],
            MediaLine {
                media: "audio".into(),
                port: 4000,
                proto: "RTP/AVP".into(),
                formats: "96 97 98 99 3 0 8 9 120 121 122"
                    .split(' ')
                    .map(String::from)
                    .collect(),
            }
        );
        assert_eq!(offer.media[1].port, 0);
        let msrp = parsed("v=0\nm=message 2855/2 TCP/TLS/MSRP *\na=accept-types:text/plain\n");
        assert_eq!(msrp.media[0].port, 2855);
        assert_eq!(msrp.media[0].proto, "TCP/TLS/MSRP");
        assert_eq!(msrp.media[0].formats, ["*"]);
        assert!(parsed("v=0\r\ns=-\r\n").media.is_empty());
    }

    #[test]
    fn keeps_one_audio_stream_inactive_and_refuses_the_others_in_order() {
        let offer = parsed(PJSIP_AUDIO);
        let answer = focus_answer(&offer, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)), 42);
        assert_eq!(
            answer,
            "v=0\r\n\
             o=herald 42 42 IN IP4 198.51.100.7\r\n\
             s=-\r\n\
             c=IN IP4 198.51.100.7\r\n\
             t=0 0\r\n\
             m=audio 9 RTP/AVP 3\r\n\
             a=inactive\r\n\
             m=video 0 RTP/AVP 97\r\n"
        );
        let reparsed = parsed(&answer);
        assert_eq!(reparsed.media.len(), offer.media.len());
        // Only dynamic payload types, or not RTP: nothing can be kept, all refused.
        let msrp = parsed("v=0\nm=message 2855 TCP/MSRP *\nm=audio 4000 RTP/AVP 96\n");
        let answer = focus_answer(&msrp, IpAddr::V4(Ipv4Addr::LOCALHOST), 1);
        assert!(
            answer.ends_with("m=message 0 TCP/MSRP *\r\nm=audio 0 RTP/AVP 96\r\n"),
            "{answer}"
        );
        // A second audio stream is refused.
        let two = parsed("v=0\nm=audio 4000 RTP/AVP 0 8\nm=audio 4002 RTP/AVP 8\n");
        let answer = focus_answer(&two, IpAddr::V4(Ipv4Addr::LOCALHOST), 1);
        assert!(
            answer.ends_with("m=audio 9 RTP/AVP 0\r\na=inactive\r\nm=audio 0 RTP/AVP 8\r\n"),
            "{answer}"
        );
        let none = focus_answer(
            &Offer { media: Vec::new() },
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            1,
        );
        assert_eq!(
            none,
            "v=0\r\no=herald 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
        );
    }

    #[test]
    fn offers_one_inactive_audio_stream() {
        let offer = inactive_offer(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 7);
        assert_eq!(
            offer,
            "v=0\r\no=herald 7 7 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             m=audio 9 RTP/AVP 0\r\na=inactive\r\n"
        );
        assert_eq!(parsed(&offer).media[0].media, "audio");
    }

    #[test]
    fn refuses_broken_offers() {
        for bad in [
            "",
            "o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n",
            "v=0\r\nm=audio\r\n",
            "v=0\r\nm=audio 4000\r\n",
            "v=0\r\nm=audio 4000 RTP/AVP\r\n",
            "v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
            "v=0\r\nm=audio -1 RTP/AVP 0\r\n",
            "v=0\r\nm=audio x/2 RTP/AVP 0\r\n",
            "v=0\r\nm=audio 4000 RTP/AVP 0\u{0}\r\n",
        ] {
            assert!(
                matches!(
                    parse_offer(bad.as_bytes(), &Limits::default()),
                    Err(DocError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        assert!(parse_offer(b"v=0\r\nm=audio 1 RTP/AVP \xff\r\n", &Limits::default()).is_err());
        let small = Limits {
            max_elements: 1,
            ..Limits::default()
        };
        let err = parse_offer(b"v=0\nm=a 1 b 0\nm=a 1 b 0\n", &small).unwrap_err();
        assert!(matches!(err, DocError::TooComplex(_)), "{err}");
        let tiny = Limits {
            max_bytes: 3,
            ..Limits::default()
        };
        assert_eq!(
            parse_offer(b"v=0\n", &tiny).unwrap_err(),
            DocError::TooLarge { max: 3 }
        );
    }
}
