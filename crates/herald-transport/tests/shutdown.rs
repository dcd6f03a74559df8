//! Graceful shutdown: listeners stop first while open flows go on, and flows close in
//! order (queued answers written, FIN sent, the peer's last bytes read) rather than reset.
mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use herald_transport::{Target, Transport, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn stop_accepting_refuses_new_connections_and_keeps_the_open_ones() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0", "udp:127.0.0.1:0"]))
        .await
        .unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    let mut open = TcpStream::connect(server).await.unwrap();
    open.write_all(&sip_request("a", "first")).await.unwrap();
    let (source, _) = next_message(&mut events).await;
    let flow = source.flow.unwrap();

    handle.stop_accepting();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // The listener closes when its task is dropped, a moment after the call; a
        // connection caught in its backlog meanwhile is reset.
        match TcpStream::connect(server).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ => assert!(tokio::time::Instant::now() < deadline, "still accepting"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    open.write_all(&sip_request("b", "second")).await.unwrap();
    let (again, data) = next_message(&mut events).await;
    assert_eq!(again.flow, Some(flow));
    assert!(data.ends_with(b"second"));
    handle
        .send(
            Target::Flow(flow),
            Bytes::from_static(b"SIP/2.0 200 OK\r\n\r\n"),
        )
        .await
        .unwrap();
    let mut answer = [0u8; 18];
    tokio::time::timeout(WAIT, open.read_exact(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&answer, b"SIP/2.0 200 OK\r\n\r\n");
    let udp = addr_of(&handle, Transport::Udp);
    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&sip_request("c", "udp"), udp).await.unwrap();
    let (over_udp, _) = next_message(&mut events).await;
    assert_eq!(over_udp.transport, Transport::Udp, "UDP is still read");
    drop(open);
    tokio::time::timeout(WAIT, handle.shutdown()).await.unwrap();
}

#[tokio::test]
async fn shutdown_writes_queued_answers_then_closes_without_a_reset() {
    const ANSWERS: usize = 300;
    const ANSWER_BYTES: usize = 32 * 1024;
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    let mut client = TcpStream::connect(server).await.unwrap();
    client.write_all(&sip_request("a", "hello")).await.unwrap();
    let (source, _) = next_message(&mut events).await;
    let flow = source.flow.unwrap();

    // More answers than the socket buffers hold, while the client does not read: most
    // are still queued when the shutdown comes, and must go out before the FIN.
    for _ in 0..ANSWERS {
        let answer = Bytes::from(vec![b'x'; ANSWER_BYTES]);
        handle.send(Target::Flow(flow), answer).await.unwrap();
    }
    let stopping = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.shutdown().await })
    };
    // Bytes the server has stopped reading: left unread at close, they would make the
    // kernel reset the connection (and drop what the client has not read yet).
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.write_all(b"\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut got = Vec::new();
    tokio::time::timeout(WAIT, client.read_to_end(&mut got))
        .await
        .unwrap()
        .expect("an orderly close (FIN), not a reset");
    assert_eq!(
        got.len(),
        ANSWERS * ANSWER_BYTES,
        "everything queued was written"
    );
    drop(client);
    tokio::time::timeout(WAIT, stopping).await.unwrap().unwrap();
    assert_eq!(handle.connection_count(), 0);
}
