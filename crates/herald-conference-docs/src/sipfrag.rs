//! `message/sipfrag` (RFC 3420) as used by REFER progress NOTIFYs (RFC 3515 §2.4.5):
//! the body is the status line of the latest response to the referred request.

/// The MIME type of REFER progress bodies, with the version parameter RFC 3515 asks for.
pub const CONTENT_TYPE: &str = "message/sipfrag;version=2.0";

/// `SIP/2.0 <status> <reason>\r\n`. Control characters in `reason` become spaces, so
/// the fragment stays one line.
pub fn status_line(status: u16, reason: &str) -> String {
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("SIP/2.0 {status} {reason}\r\n")
}

/// The status code (100-699) and reason phrase of the status line a sipfrag starts
/// with; `None` when the first line is not a SIP/2.0 status line (a request line, an
/// empty body). The line may end with CRLF, LF or the end of the body; the reason may
/// be empty, and bytes that are not UTF-8 in it become U+FFFD.
pub fn parse_status(body: &[u8]) -> Option<(u16, String)> {
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = body.get(..end)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.get(..8)?;
    if !version.eq_ignore_ascii_case(b"SIP/2.0 ") {
        return None;
    }
    let rest = line.get(8..)?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if !(100..=699).contains(&status) {
        return None;
    }
    let reason = match rest.get(3..)? {
        [] => &[][..],
        [b' ' | b'\t', reason @ ..] => reason,
        _ => return None,
    };
    let reason = String::from_utf8_lossy(reason).trim().to_owned();
    Some((status, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_round_trip() {
        assert_eq!(status_line(200, "OK"), "SIP/2.0 200 OK\r\n");
        assert_eq!(status_line(100, "Trying"), "SIP/2.0 100 Trying\r\n");
        assert_eq!(
            status_line(486, "Busy\r\nX: y"),
            "SIP/2.0 486 Busy  X: y\r\n"
        );
        for (status, reason) in [(180, "Ringing"), (603, "Decline"), (200, "")] {
            let line = status_line(status, reason);
            assert_eq!(
                parse_status(line.as_bytes()),
                Some((status, reason.to_owned()))
            );
        }
    }

    #[test]
    fn reads_the_first_line_only() {
        assert_eq!(
            parse_status(b"SIP/2.0 503 Service Unavailable\r\nRetry-After: 5\r\n"),
            Some((503, "Service Unavailable".to_owned()))
        );
        assert_eq!(
            parse_status(b"SIP/2.0 200 OK"),
            Some((200, "OK".to_owned()))
        );
        assert_eq!(
            parse_status(b"sip/2.0 180 Ringing\n"),
            Some((180, "Ringing".to_owned()))
        );
        assert_eq!(parse_status(b"SIP/2.0 200"), Some((200, String::new())));
        assert_eq!(
            parse_status(b"SIP/2.0 200 \xffOK"),
            Some((200, "\u{FFFD}OK".to_owned()))
        );
    }

    #[test]
    fn refuses_what_is_not_a_status_line() {
        for bad in [
            &b""[..],
            b"INVITE sip:bob@d SIP/2.0\r\n",
            b"SIP/2.0 20 OK",
            b"SIP/2.0 2000 OK",
            b"SIP/2.0 099 Low",
            b"SIP/2.0 700 High",
            b"SIP/3.0 200 OK",
            b"SIP/2.0 2x0 OK",
            b"\r\nSIP/2.0 200 OK",
        ] {
            assert_eq!(parse_status(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
