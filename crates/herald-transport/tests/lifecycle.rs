//! Starting, binding errors, listener order, and shutdown.
mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use herald_transport::{Target, Transport, TransportError, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn local_addrs_follow_config_order_with_ports_resolved() {
    let mut listen = vec!["udp:127.0.0.1:0", "tcp:127.0.0.1:0"];
    if ipv6_available() {
        listen.extend(["tcp:[::1]:0", "udp:[::1]:0"]);
    }
    let (handle, _events) = start(config(&listen)).await.unwrap();
    let bound = handle.local_addrs();
    assert_eq!(bound.len(), listen.len());
    for (got, wanted) in bound.iter().zip(&listen) {
        let wanted = spec(wanted);
        assert_eq!(got.transport, wanted.transport);
        assert_eq!(got.addr.ip(), wanted.addr.ip());
        assert_ne!(got.addr.port(), 0);
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn bind_failure_names_the_address() {
    let (first, _events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let taken = addr_of(&first, Transport::Tcp);
    let taken_spec = format!("tcp:{taken}");
    let err = start(config(&["udp:127.0.0.1:0", &taken_spec]))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Bind { .. }), "{err}");
    assert!(err.to_string().contains(&taken_spec), "{err}");
    first.shutdown().await;
}

#[tokio::test]
async fn websocket_listeners_are_refused_for_now() {
    let err = start(config(&["ws:127.0.0.1:0"])).await.unwrap_err();
    assert!(
        matches!(err, TransportError::UnsupportedListener(_)),
        "{err}"
    );
    let (handle, _events) = start(config(&[])).await.unwrap();
    let target = Target::Addr {
        transport: Transport::Wss,
        addr: "127.0.0.1:443".parse().unwrap(),
    };
    let err = handle.send(target, Bytes::new()).await.unwrap_err();
    assert!(matches!(
        err,
        TransportError::UnsupportedTransport(Transport::Wss)
    ));
}

#[tokio::test]
async fn shutdown_closes_flows_and_listeners() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0", "udp:127.0.0.1:0"]))
        .await
        .unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    let mut client = TcpStream::connect(server).await.unwrap();
    client.write_all(&sip_request("s", "")).await.unwrap();
    let flow = next_message(&mut events).await.0.flow.unwrap();

    tokio::time::timeout(WAIT, handle.shutdown()).await.unwrap();
    assert!(!handle.flow_alive(flow));
    assert_eq!(handle.connection_count(), 0);
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, client.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert_eq!(next_closed(&mut events).await.0, flow);

    // The listener is gone (give the OS a moment to release it).
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(server).await.is_err());
    let err = handle
        .send(Target::Flow(flow), Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::ShutDown));
}
