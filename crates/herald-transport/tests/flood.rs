//! The flood guard over real sockets. Linux routes all of 127.0.0.0/8 to the loopback
//! interface, so clients bound to 127.0.0.2 and 127.0.0.3 are two distinct sources.
mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::*;
use herald_transport::{Event, FloodConfig, Transport, TransportConfig, TransportHandle, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::sync::mpsc::Receiver;

const FLOODER: &str = "127.0.0.2";
const NEIGHBOUR: &str = "127.0.0.3";
/// The guard's ban length in these tests.
const BAN: Duration = Duration::from_secs(1);

/// 20 messages/s with a burst of 20, 2 connections/s with a burst of 3, 1 s bans.
fn flood_config(trusted: &[&str]) -> FloodConfig {
    FloodConfig {
        requests_per_sec: 20,
        burst: 20,
        connections_per_sec: 2,
        connection_burst: 3,
        ban: BAN,
        trusted: trusted.iter().map(|t| t.parse().unwrap()).collect(),
        ..FloodConfig::default()
    }
}

async fn start_guarded(listen: &[&str], trusted: &[&str]) -> (TransportHandle, Receiver<Event>) {
    let config = TransportConfig {
        flood: flood_config(trusted),
        ..config(listen)
    };
    start(config).await.unwrap()
}

async fn udp_from(ip: &str) -> UdpSocket {
    UdpSocket::bind((ip.parse::<IpAddr>().unwrap(), 0))
        .await
        .unwrap()
}

async fn tcp_from(ip: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(ip.parse().unwrap(), 0))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// Whether the server closes the connection within `WAIT` (reads return 0 or reset).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Messages delivered until the queue has been quiet for `quiet`, counted per source IP
/// (FlowClosed events are skipped).
async fn drain_messages(events: &mut Receiver<Event>, quiet: Duration) -> Vec<IpAddr> {
    let mut sources = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(quiet, events.recv()).await {
        if let Event::Message { source, .. } = event {
            sources.push(source.remote.ip());
        }
    }
    sources
}

fn count(sources: &[IpAddr], ip: &str) -> usize {
    let ip: IpAddr = ip.parse().unwrap();
    sources.iter().filter(|s| **s == ip).count()
}

#[tokio::test]
async fn a_udp_flood_bans_its_source_while_a_neighbour_is_served() {
    let (handle, mut events) = start_guarded(&["udp:127.0.0.1:0"], &[]).await;
    let server = addr_of(&handle, Transport::Udp);
    let flooder = udp_from(FLOODER).await;
    let neighbour = udp_from(NEIGHBOUR).await;

    for i in 0..200 {
        let request = sip_request(&format!("f{i}"), "");
        flooder.send_to(&request, server).await.unwrap();
        if i % 20 == 0 {
            let request = sip_request(&format!("n{i}"), "");
            neighbour.send_to(&request, server).await.unwrap();
        }
    }
    let sources = drain_messages(&mut events, Duration::from_millis(300)).await;
    // The burst (20) plus at most what the rate earned while sending.
    let from_flooder = count(&sources, FLOODER);
    assert!((20..=25).contains(&from_flooder), "{from_flooder}");
    assert_eq!(count(&sources, NEIGHBOUR), 10);

    let stats = handle.stats();
    assert_eq!(stats.bans, 1);
    assert_eq!(stats.banned_now, 1);
    assert_eq!(stats.dropped_flood, 200 - from_flooder as u64);
    assert_eq!(
        stats.datagrams_in, 210,
        "dropped datagrams still count as received"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn a_ban_expires_once_the_source_stops() {
    let (handle, mut events) = start_guarded(&["udp:127.0.0.1:0"], &[]).await;
    let server = addr_of(&handle, Transport::Udp);
    let flooder = udp_from(FLOODER).await;
    for i in 0..100 {
        let request = sip_request(&format!("f{i}"), "");
        flooder.send_to(&request, server).await.unwrap();
    }
    drain_messages(&mut events, Duration::from_millis(200)).await;
    assert_eq!(handle.stats().banned_now, 1);
    let banned_at = tokio::time::Instant::now();

    // One probe every 250 ms: slow enough not to keep the ban going, and each one is
    // refused until the ban is lifted.
    let deadline = banned_at + BAN * 5;
    let served_at = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never served again: {:?}",
            handle.stats()
        );
        flooder
            .send_to(&sip_request("probe", ""), server)
            .await
            .unwrap();
        if let Ok(Some(Event::Message { source, .. })) =
            tokio::time::timeout(Duration::from_millis(250), events.recv()).await
        {
            assert_eq!(source.remote.ip().to_string(), FLOODER);
            break tokio::time::Instant::now();
        }
    };
    let waited = served_at - banned_at;
    assert!(waited >= BAN - Duration::from_millis(300), "{waited:?}");
    let stats = handle.stats();
    assert_eq!(stats.banned_now, 0);
    assert_eq!(stats.bans, 1);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_trusted_address_is_never_throttled() {
    let config = TransportConfig {
        max_connections_per_ip: 1,
        flood: flood_config(&[NEIGHBOUR]),
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);

    // Ten connections, over the connection burst and the per-IP limit, and 300
    // messages on one of them, fifteen times the message burst.
    let mut clients = Vec::new();
    for _ in 0..10 {
        clients.push(tcp_from(NEIGHBOUR, server).await);
    }
    let mut all = Vec::new();
    for i in 0..300 {
        all.extend_from_slice(&sip_request(&format!("t{i}"), ""));
    }
    clients[0].write_all(&all).await.unwrap();
    let sources = drain_messages(&mut events, Duration::from_millis(500)).await;
    assert_eq!(count(&sources, NEIGHBOUR), 300);
    assert_eq!(handle.connection_count(), 10);
    let stats = handle.stats();
    assert_eq!(stats.connections_rejected, 0);
    assert_eq!(stats.dropped_flood, 0);
    assert_eq!(stats.bans, 0);
    assert_eq!(
        stats.tracked_ips, 0,
        "trusted addresses are not even tracked"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn a_banned_address_loses_its_connections_and_cannot_open_new_ones() {
    let (handle, mut events) = start_guarded(&["udp:127.0.0.1:0", "tcp:127.0.0.1:0"], &[]).await;
    let udp_server = addr_of(&handle, Transport::Udp);
    let tcp_server = addr_of(&handle, Transport::Tcp);

    // Both sources hold a working connection.
    let mut idle = tcp_from(FLOODER, tcp_server).await;
    idle.write_all(&sip_request("idle", "")).await.unwrap();
    let mut neighbour = tcp_from(NEIGHBOUR, tcp_server).await;
    neighbour.write_all(&sip_request("n1", "")).await.unwrap();
    let sources = drain_messages(&mut events, Duration::from_millis(200)).await;
    assert_eq!(sources.len(), 2);

    // The flooder's UDP flood bans it; its idle TCP connection goes with it.
    let flooder = udp_from(FLOODER).await;
    for i in 0..100 {
        let request = sip_request(&format!("f{i}"), "");
        flooder.send_to(&request, udp_server).await.unwrap();
    }
    assert!(closed_by_server(&mut idle).await);
    // And a new connection is closed at once.
    let mut again = tcp_from(FLOODER, tcp_server).await;
    assert!(closed_by_server(&mut again).await);
    assert!(handle.stats().connections_rejected >= 1);

    // The neighbour's connection still works (the flooder's burst was delivered
    // before it).
    neighbour.write_all(&sip_request("n2", "")).await.unwrap();
    loop {
        if let Event::Message { source, data, .. } = next_event(&mut events).await
            && source.remote.ip().to_string() == NEIGHBOUR
        {
            assert_eq!(&data[..], &sip_request("n2", "")[..]);
            break;
        }
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while handle.connection_count() != 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(handle.connection_count(), 1);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_flood_on_one_connection_closes_it() {
    let (handle, mut events) = start_guarded(&["tcp:127.0.0.1:0"], &[]).await;
    let server = addr_of(&handle, Transport::Tcp);
    let mut flooder = tcp_from(FLOODER, server).await;
    let mut all = Vec::new();
    for i in 0..100 {
        all.extend_from_slice(&sip_request(&format!("s{i}"), ""));
    }
    // The server may close while we still write.
    let _ = flooder.write_all(&all).await;
    assert!(closed_by_server(&mut flooder).await);
    let mut delivered = 0;
    loop {
        match next_event(&mut events).await {
            Event::Message { .. } => delivered += 1,
            Event::FlowClosed { remote, .. } => {
                assert_eq!(remote.ip().to_string(), FLOODER);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The burst, and at most what the rate earned while the server read.
    assert!((20..=22).contains(&delivered), "{delivered}");
    let stats = handle.stats();
    assert_eq!(stats.bans, 1);
    assert_eq!(
        stats.dropped_flood, 1,
        "the connection closes at the first refusal"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn too_many_new_connections_ban_the_address() {
    let (handle, mut events) = start_guarded(&["tcp:127.0.0.1:0"], &[]).await;
    let server = addr_of(&handle, Transport::Tcp);
    // Eight at once, over the burst of three: the address is banned, the connections
    // after the ban are refused at accept, and the ones before it are closed.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(tcp_from(FLOODER, server).await);
    }
    for client in &mut clients {
        assert!(closed_by_server(client).await);
    }
    let stats = handle.stats();
    assert_eq!(stats.bans, 1);
    assert!(stats.connections_opened >= 3, "{stats:?}");
    assert_eq!(stats.connections_opened + stats.connections_rejected, 8);
    for _ in 0..stats.connections_opened {
        next_closed(&mut events).await;
    }
    // Another address connects as usual.
    let mut neighbour = tcp_from(NEIGHBOUR, server).await;
    neighbour.write_all(&sip_request("n", "")).await.unwrap();
    let (source, _) = next_message(&mut events).await;
    assert_eq!(source.remote.ip().to_string(), NEIGHBOUR);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_disabled_guard_lets_everything_through() {
    let config = TransportConfig {
        flood: FloodConfig {
            enabled: false,
            ..flood_config(&[])
        },
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    let mut client = tcp_from(FLOODER, server).await;
    let mut all = Vec::new();
    for i in 0..100 {
        all.extend_from_slice(&sip_request(&format!("d{i}"), ""));
    }
    client.write_all(&all).await.unwrap();
    let sources = drain_messages(&mut events, Duration::from_millis(300)).await;
    assert_eq!(count(&sources, FLOODER), 100);
    assert_eq!(handle.stats().bans, 0);
    handle.shutdown().await;
}
