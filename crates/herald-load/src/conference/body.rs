//! What a conference message carries so that every copy can be accounted for on
//! arrival without looking anything up: the step, the message's number in the run,
//! its sender, the sender's own sequence number (order per sender) and the instant it
//! was sent (microseconds on the tool's monotonic clock since the run began).
//!
//! `herald-load step=1 id=42 from=17 seq=3 t=123456`, optionally padded with `.` to
//! a chosen size. The stamp is found anywhere in a body, so a copy the focus wrapped
//! in `message/cpim` reads the same.

use std::fmt::Write as _;

/// The word that starts every stamp.
pub const MARKER: &str = "herald-load";

/// The accounting data of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Step index (0-based) the message was sent in.
    pub step: u32,
    /// Number of the message in the run (0-based).
    pub id: u64,
    /// Index of the sending user.
    pub sender: u32,
    /// The sender's sequence number (0-based, over the whole run).
    pub seq: u64,
    /// Send instant, microseconds since the run began.
    pub sent_us: u64,
}

/// The body for `stamp`, padded to `size` bytes when that is longer.
pub fn encode(stamp: &Stamp, size: usize) -> String {
    let mut text = String::with_capacity(size.max(80));
    // Writing into a String cannot fail.
    let _ = write!(
        text,
        "{MARKER} step={} id={} from={} seq={} t={}",
        stamp.step, stamp.id, stamp.sender, stamp.seq, stamp.sent_us
    );
    if text.len() < size {
        text.push(' ');
        while text.len() < size {
            text.push('.');
        }
    }
    text
}

/// The stamp in `body`, if it holds a well-formed one.
pub fn decode(body: &[u8]) -> Option<Stamp> {
    let start = find(body, MARKER.as_bytes())?;
    let text = body.get(start + MARKER.len()..)?;
    let mut fields = text
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let mut field = |name: &str| -> Option<u64> {
        let f = fields.next()?;
        let value = f.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(value).ok()?.parse().ok()
    };
    Some(Stamp {
        step: u32::try_from(field("step")?).ok()?,
        id: field("id")?,
        sender: u32::try_from(field("from")?).ok()?,
        seq: field("seq")?,
        sent_us: field("t")?,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The user part of a `P-Asserted-Identity` value (`"Name" <sip:user@host>` or
/// `<sip:user@host>`), for checking who the focus says sent a copy.
pub fn asserted_user(value: &str) -> Option<&str> {
    // The address is the last `<...>`: a quoted display name may hold brackets too.
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => value.get(open + 1..close)?,
        _ => value.trim(),
    };
    let rest = inner
        .strip_prefix("sip:")
        .or_else(|| inner.strip_prefix("sips:"))?;
    let (user, _) = rest.split_once('@')?;
    (!user.is_empty()).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: Stamp = Stamp {
        step: 2,
        id: 123_456,
        sender: 999,
        seq: 41,
        sent_us: 98_765_432_101,
    };

    #[test]
    fn round_trips_plain_and_padded() {
        let plain = encode(&STAMP, 0);
        assert_eq!(
            plain,
            "herald-load step=2 id=123456 from=999 seq=41 t=98765432101"
        );
        assert_eq!(decode(plain.as_bytes()), Some(STAMP));
        let padded = encode(&STAMP, 200);
        assert_eq!(padded.len(), 200);
        assert!(padded.starts_with(&plain));
        assert_eq!(decode(padded.as_bytes()), Some(STAMP));
        // Longer than asked: never cut.
        assert_eq!(encode(&STAMP, 10), plain);
    }

    #[test]
    fn found_inside_a_cpim_wrapper() {
        let wrapped = format!(
            "From: <sip:u00001@bench.test>\r\nTo: <sip:conf-1@bench.test>\r\n\
             DateTime: 2026-11-21T10:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\n{}",
            encode(&STAMP, 0)
        );
        assert_eq!(decode(wrapped.as_bytes()), Some(STAMP));
    }

    #[test]
    fn refuses_damaged_stamps() {
        for bad in [
            "",
            "hello",
            "herald-load",
            "herald-load step=2 id=1 from=3 seq=4",
            "herald-load step=2 id=1 from=3 seq=4 t=",
            "herald-load step=2 id=1 from=3 seq=-4 t=5",
            "herald-load step=2 id=1 sender=3 seq=4 t=5",
            "herald-load step=2 id=1 from=3 seq=4 t=99999999999999999999999",
            "herald-load step=4294967296 id=1 from=3 seq=4 t=5",
            "herald-load step=2 id=1x from=3 seq=4 t=5",
        ] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(decode(&[0xff, 0xfe, b'h']), None);
    }

    #[test]
    fn asserted_identities() {
        assert_eq!(asserted_user("<sip:u00017@bench.test>"), Some("u00017"));
        assert_eq!(
            asserted_user("\"Ann <x>\" <sip:u1@bench.test;transport=tcp>"),
            Some("u1")
        );
        assert_eq!(asserted_user("sips:u2@bench.test"), Some("u2"));
        assert_eq!(asserted_user("<tel:+123>"), None);
        assert_eq!(asserted_user("<sip:bench.test>"), None);
        assert_eq!(asserted_user("<sip:@bench.test>"), None);
        assert_eq!(asserted_user(""), None);
    }
}
