//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use herald_transport::{Event, ListenSpec, Source, Transport, TransportConfig};
use tokio::sync::mpsc::Receiver;

/// Long enough for a loaded 2-core machine, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(5);

/// A complete SIP request with a body, framed by Content-Length.
pub fn sip_request(tag: &str, body: &str) -> Vec<u8> {
    format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/TCP client.example.com;branch=z9hG4bK{tag}\r\n\
         From: <sip:alice@example.com>;tag={tag}\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: {tag}@example.com\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: {}\r\n\
         \r\n\
         {body}",
        body.len()
    )
    .into_bytes()
}

pub fn spec(text: &str) -> ListenSpec {
    text.parse().unwrap()
}

pub fn config(listen: &[&str]) -> TransportConfig {
    TransportConfig {
        listen: listen.iter().map(|s| spec(s)).collect(),
        ..Default::default()
    }
}

/// The bound address of the first listener of `transport`.
pub fn addr_of(handle: &herald_transport::TransportHandle, transport: Transport) -> SocketAddr {
    handle
        .local_addrs()
        .into_iter()
        .find(|s| s.transport == transport)
        .map(|s| s.addr)
        .unwrap()
}

pub async fn next_event(events: &mut Receiver<Event>) -> Event {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event channel closed")
}

pub async fn next_message(events: &mut Receiver<Event>) -> (Source, Bytes) {
    match next_event(events).await {
        Event::Message { source, data, .. } => (source, data),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Skips an `Unframeable` report (the bytes a closing stream could not frame), if
/// one comes first, and returns the `FlowClosed` that must follow.
pub async fn next_closed_after_unframeable(events: &mut Receiver<Event>) -> (u64, SocketAddr) {
    match next_event(events).await {
        Event::Unframeable { .. } => next_closed(events).await,
        Event::FlowClosed { flow, remote } => (flow, remote),
        other => panic!("expected Unframeable or FlowClosed, got {other:?}"),
    }
}

pub async fn next_closed(events: &mut Receiver<Event>) -> (u64, SocketAddr) {
    match next_event(events).await {
        Event::FlowClosed { flow, remote } => (flow, remote),
        other => panic!("expected FlowClosed, got {other:?}"),
    }
}

pub async fn assert_no_event(events: &mut Receiver<Event>, quiet: Duration) {
    if let Ok(event) = tokio::time::timeout(quiet, events.recv()).await {
        panic!("expected no event, got {event:?}");
    }
}

/// Whether this host can bind IPv6 loopback; tests print a note and pass if not.
pub fn ipv6_available() -> bool {
    let available = std::net::UdpSocket::bind("[::1]:0").is_ok();
    if !available {
        eprintln!("IPv6 loopback unavailable: skipping the IPv6 part of this test");
    }
    available
}
