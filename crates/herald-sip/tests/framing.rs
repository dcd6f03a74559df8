//! Stream framing (RFC 3261 §18.3, RFC 5626 §3.5.1 keep-alives).
use herald_sip::{
    ParseErrorKind,
    framing::{Frame, frame},
};

const MAX: usize = 65_535;
const MESSAGE: &[u8] = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn whole_message_and_pipelining() {
    assert_eq!(
        frame(MESSAGE, MAX),
        Ok(Frame::Message { len: MESSAGE.len() })
    );
    let mut two = MESSAGE.to_vec();
    two.extend_from_slice(MESSAGE);
    assert_eq!(frame(&two, MAX), Ok(Frame::Message { len: MESSAGE.len() }));
}

#[test]
fn split_input_is_incomplete_at_every_cut() {
    for cut in 0..MESSAGE.len() {
        assert_eq!(
            frame(&MESSAGE[..cut], MAX),
            Ok(Frame::Incomplete),
            "cut at {cut}"
        );
    }
}

#[test]
fn keep_alives() {
    assert_eq!(
        frame(b"\r\n\r\n", MAX),
        Ok(Frame::KeepAlive { len: 4, ping: true })
    );
    assert_eq!(
        frame(b"\r\n\r\n\r\n", MAX),
        Ok(Frame::KeepAlive { len: 4, ping: true })
    );
    let mut pong_then_message = b"\r\n".to_vec();
    pong_then_message.extend_from_slice(MESSAGE);
    assert_eq!(
        frame(&pong_then_message, MAX),
        Ok(Frame::KeepAlive {
            len: 2,
            ping: false
        })
    );
    let mut ping_then_message = b"\r\n\r\n".to_vec();
    ping_then_message.extend_from_slice(MESSAGE);
    assert_eq!(
        frame(&ping_then_message, MAX),
        Ok(Frame::KeepAlive { len: 4, ping: true })
    );
    // Could still become a ping: wait.
    assert_eq!(frame(b"", MAX), Ok(Frame::Incomplete));
    assert_eq!(frame(b"\r", MAX), Ok(Frame::Incomplete));
    assert_eq!(frame(b"\r\n", MAX), Ok(Frame::Incomplete));
    assert_eq!(frame(b"\r\n\r", MAX), Ok(Frame::Incomplete));
}

#[test]
fn content_length_is_required_and_checked() {
    let missing = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
    assert_eq!(
        frame(missing, MAX).unwrap_err().kind,
        ParseErrorKind::BadRequest
    );
    let negative = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n";
    assert_eq!(
        frame(negative, MAX).unwrap_err().kind,
        ParseErrorKind::BadRequest
    );
    let conflicting = b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(
        frame(conflicting, MAX).unwrap_err().kind,
        ParseErrorKind::BadRequest
    );
    let compact_and_folded = b"OPTIONS sip:a@b SIP/2.0\r\nl:\r\n 2\r\n\r\nab";
    assert_eq!(
        frame(compact_and_folded, MAX),
        Ok(Frame::Message {
            len: compact_and_folded.len()
        })
    );
    let agreeing = b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\ncontent-LENGTH: 2\r\n\r\nab";
    assert_eq!(
        frame(agreeing, MAX),
        Ok(Frame::Message {
            len: agreeing.len()
        })
    );
    // The start line is not a header, even if it looks like one.
    let tricky = b"Content-Length: 9 SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(frame(tricky, MAX), Ok(Frame::Message { len: tricky.len() }));
}

#[test]
fn size_limit() {
    // Headers without an end within the limit.
    let endless = vec![b'a'; 100];
    assert_eq!(
        frame(&endless, 100).unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
    assert_eq!(frame(&endless, 101), Ok(Frame::Incomplete));
    // The end of headers lies beyond the limit: not looked at.
    assert_eq!(
        frame(MESSAGE, 40).unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
    // Headers fit, the announced body does not.
    let big_body = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4294967295\r\n\r\n";
    assert_eq!(
        frame(big_body, MAX).unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
    assert_eq!(
        frame(MESSAGE, MESSAGE.len()),
        Ok(Frame::Message { len: MESSAGE.len() })
    );
    assert_eq!(
        frame(MESSAGE, MESSAGE.len() - 1).unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
}
