//! UDP: round trips on IPv4 and IPv6, keep-alives, size limit, queue-full drops.
mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use herald_transport::{Target, Transport, TransportConfig, TransportError, start};
use tokio::net::UdpSocket;

async fn round_trip(listen: &str, client_bind: &str) {
    let (handle, mut events) = start(config(&[listen])).await.unwrap();
    let server = addr_of(&handle, Transport::Udp);
    assert_ne!(server.port(), 0, "port 0 is resolved");

    let client = UdpSocket::bind(client_bind).await.unwrap();
    let request = sip_request("udp1", "hello");
    client.send_to(&request, server).await.unwrap();

    let (source, data) = next_message(&mut events).await;
    assert_eq!(&data[..], &request[..]);
    assert_eq!(source.transport, Transport::Udp);
    assert_eq!(source.remote, client.local_addr().unwrap());
    assert_eq!(source.local, server);
    assert_eq!(source.flow, None);

    let reply = Bytes::from_static(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    let used = handle
        .send(
            Target::Addr {
                transport: Transport::Udp,
                addr: source.remote,
            },
            reply.clone(),
        )
        .await
        .unwrap();
    assert_eq!(used, None);
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(WAIT, client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &reply[..]);
    assert_eq!(from, server, "replies come from the listener socket");

    let stats = handle.stats();
    assert_eq!(stats.datagrams_in, 1);
    assert_eq!(stats.datagrams_out, 1);
    handle.shutdown().await;
}

#[tokio::test]
async fn udp_round_trip_ipv4() {
    round_trip("udp:127.0.0.1:0", "127.0.0.1:0").await;
}

#[tokio::test]
async fn udp_round_trip_ipv6() {
    if ipv6_available() {
        round_trip("udp:[::1]:0", "[::1]:0").await;
    }
}

#[tokio::test]
async fn udp_keepalives_and_oversized_datagrams_are_not_delivered() {
    let config = TransportConfig {
        max_message_size: 300,
        ..config(&["udp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Udp);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    client.send_to(b"\r\n\r\n", server).await.unwrap();
    client
        .send_to(&sip_request("big", &"x".repeat(400)), server)
        .await
        .unwrap();
    let small = sip_request("small", "ok");
    client.send_to(&small, server).await.unwrap();

    // Datagrams on loopback arrive in order, so the first event is the small one.
    let (_, data) = next_message(&mut events).await;
    assert_eq!(&data[..], &small[..]);
    assert_no_event(&mut events, Duration::from_millis(200)).await;
    let stats = handle.stats();
    assert_eq!(stats.datagrams_in, 3);
    assert_eq!(stats.datagrams_too_large, 1);
    handle.shutdown().await;
}

#[tokio::test]
async fn udp_datagrams_are_dropped_and_counted_when_the_queue_is_full() {
    let config = TransportConfig {
        event_queue: 2,
        ..config(&["udp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Udp);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..10 {
        client
            .send_to(&sip_request(&format!("q{i}"), ""), server)
            .await
            .unwrap();
    }
    // Wait until all ten were seen by the receive tasks.
    let deadline = tokio::time::Instant::now() + WAIT;
    while handle.stats().datagrams_in < 10 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = handle.stats();
    assert_eq!(stats.datagrams_in, 10);
    assert_eq!(stats.datagrams_dropped, 8);
    next_message(&mut events).await;
    next_message(&mut events).await;
    assert_no_event(&mut events, Duration::from_millis(100)).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn udp_send_without_a_socket_of_that_family_fails_clearly() {
    let (handle, _events) = start(config(&["udp:127.0.0.1:0"])).await.unwrap();
    let target = Target::Addr {
        transport: Transport::Udp,
        addr: "[2001:db8::1]:5060".parse().unwrap(),
    };
    let err = handle
        .send(target, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::NoUdpSocket(_)), "{err}");
    assert!(err.to_string().contains("[2001:db8::1]:5060"), "{err}");
    handle.shutdown().await;
}
