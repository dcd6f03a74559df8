//! Shared helpers for the transaction tests: messages parsed from text, a fake clock,
//! and readers for the layer's outputs.
#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
use herald_sip::{Message, Method, Request, Response, message::ParseLimits};
use herald_transaction::{Output, Timers, TransactionKey};
use std::time::{Duration, Instant};

/// The send context in tests: a peer name.
pub type Ctx = &'static str;

pub const PEER: Ctx = "peer";

/// Time as offsets from a fixed origin.
#[derive(Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }
    pub fn ms(&self, ms: u64) -> Instant {
        self.origin + Duration::from_millis(ms)
    }
    pub fn start(&self) -> Instant {
        self.origin
    }
}

pub fn timers() -> Timers {
    Timers::default()
}

/// 64*T1 with the default timers, in ms.
pub const T64: u64 = 32_000;

/// Parses `text` (lines joined with `\n`, converted to CRLF) as one message.
pub fn parse(text: &str) -> Message {
    let wire = text.replace('\n', "\r\n");
    Message::parse(Bytes::from(wire), &ParseLimits::default()).expect("test message parses")
}

pub fn request(text: &str) -> Request {
    match parse(text) {
        Message::Request(request) => request,
        Message::Response(_) => panic!("expected a request"),
    }
}

pub fn response(text: &str) -> Response {
    match parse(text) {
        Message::Response(response) => response,
        Message::Request(_) => panic!("expected a response"),
    }
}

/// A non-INVITE request from 192.0.2.1.
pub fn message_request(branch: &str) -> Request {
    request(&format!(
        "MESSAGE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-{branch}
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: 5

hello"
    ))
}

/// An INVITE from 192.0.2.1 with a pre-loaded route.
pub fn invite(branch: &str) -> Request {
    request(&format!(
        "INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}
Max-Forwards: 70
Route: <sip:proxy.example.com;lr>
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-{branch}
CSeq: 7 INVITE
Contact: <sip:alice@192.0.2.1>
Content-Length: 0

"
    ))
}

/// The ACK a UAC sends for a non-2xx final response to `invite(branch)` (same branch).
pub fn ack_for_non_2xx(branch: &str, to_tag: &str) -> Request {
    request(&format!(
        "ACK sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}
Max-Forwards: 70
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag={to_tag}
Call-ID: call-{branch}
CSeq: 7 ACK
Content-Length: 0

"
    ))
}

/// The CANCEL of `invite(branch)`.
pub fn cancel_for(branch: &str) -> Request {
    request(&format!(
        "CANCEL sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}
Max-Forwards: 70
Route: <sip:proxy.example.com;lr>
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-{branch}
CSeq: 7 CANCEL
Content-Length: 0

"
    ))
}

/// A response to one of the requests above (same Via/From/Call-ID; To gets `to_tag`).
pub fn response_to(branch: &str, status: u16, reason: &str, cseq: &str, to_tag: &str) -> Response {
    response(&format!(
        "SIP/2.0 {status} {reason}
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag={to_tag}
Call-ID: call-{branch}
CSeq: {cseq}
Content-Length: 0

"
    ))
}

/// The bytes of every `Output::Send` toward `ctx`.
pub fn sent(outputs: &[Output<Ctx>]) -> Vec<Bytes> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Send { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect()
}

/// Parses sent bytes back.
pub fn reparse(data: &Bytes) -> Message {
    Message::parse(data.clone(), &ParseLimits::default())
        .expect("the layer sends parseable messages")
}

/// The status of a sent response.
pub fn sent_status(data: &Bytes) -> u16 {
    match reparse(data) {
        Message::Response(response) => response.status,
        Message::Request(request) => {
            panic!("expected a response, sent {}", request.method.as_str())
        }
    }
}

/// The method of a sent request.
pub fn sent_method(data: &Bytes) -> Method {
    match reparse(data) {
        Message::Request(request) => request.method,
        Message::Response(response) => panic!("expected a request, sent {}", response.status),
    }
}

/// Statuses of the responses handed to the TU.
pub fn tu_responses(outputs: &[Output<Ctx>]) -> Vec<u16> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Response { response, .. } => Some(response.status),
            _ => None,
        })
        .collect()
}

pub fn timeouts(outputs: &[Output<Ctx>]) -> Vec<TransactionKey> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Timeout { key } => Some(key.clone()),
            _ => None,
        })
        .collect()
}

pub fn server_terminations(outputs: &[Output<Ctx>]) -> Vec<TransactionKey> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::ServerTerminated { key } => Some(key.clone()),
            _ => None,
        })
        .collect()
}

/// Polls the layer at every deadline up to `until_ms` and records the time (ms since
/// the clock's origin) of every Send, plus all outputs.
pub fn run_until(
    layer: &mut herald_transaction::TransactionLayer<Ctx>,
    clock: &Clock,
    until_ms: u64,
) -> (Vec<u64>, Vec<Output<Ctx>>) {
    let mut send_times = Vec::new();
    let mut all = Vec::new();
    let end = clock.ms(until_ms);
    while let Some(deadline) = layer.next_deadline() {
        if deadline > end {
            break;
        }
        let mut outputs = Vec::new();
        layer.poll(deadline, &mut outputs);
        let at = u64::try_from(deadline.duration_since(clock.start()).as_millis())
            .expect("test times fit");
        send_times.extend(std::iter::repeat_n(at, sent(&outputs).len()));
        all.extend(outputs);
    }
    let mut outputs = Vec::new();
    layer.poll(end, &mut outputs);
    all.extend(outputs);
    (send_times, all)
}
