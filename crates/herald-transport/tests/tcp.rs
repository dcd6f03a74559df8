//! TCP: framing across writes, keep-alives, replies over a flow, closing, limits.
mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use herald_transport::{Event, Target, Transport, TransportConfig, TransportError, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads until `n` bytes arrived or the peer closed; returns what came.
async fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    tokio::time::timeout(WAIT, stream.read_exact(&mut out))
        .await
        .expect("timed out reading")
        .expect("read failed");
    out
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

#[tokio::test]
async fn messages_split_across_writes_and_batched_in_one_write() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    let mut client = TcpStream::connect(server).await.unwrap();
    client.set_nodelay(true).unwrap();

    let first = sip_request("a", "split body");
    for piece in first.chunks(7) {
        client.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (source, data) = next_message(&mut events).await;
    assert_eq!(&data[..], &first[..]);
    assert_eq!(source.transport, Transport::Tcp);
    assert_eq!(source.remote, client.local_addr().unwrap());
    assert_eq!(source.local, server);
    let flow = source.flow.expect("TCP messages carry a flow");
    assert!(handle.flow_alive(flow));
    assert_eq!(handle.flow_remote(flow), Some(client.local_addr().unwrap()));
    assert_eq!(handle.connection_count(), 1);

    let second = sip_request("b", "");
    let third = sip_request("c", "third");
    let mut batch = second.clone();
    batch.extend_from_slice(&third);
    // The fourth message is cut: its end comes with a later write.
    let fourth = sip_request("d", "fourth");
    batch.extend_from_slice(&fourth[..20]);
    client.write_all(&batch).await.unwrap();
    let (s2, d2) = next_message(&mut events).await;
    let (s3, d3) = next_message(&mut events).await;
    assert_eq!(&d2[..], &second[..]);
    assert_eq!(&d3[..], &third[..]);
    assert_eq!(s2.flow, Some(flow));
    assert_eq!(s3.flow, Some(flow));
    assert_no_event(&mut events, Duration::from_millis(100)).await;
    client.write_all(&fourth[20..]).await.unwrap();
    let (_, d4) = next_message(&mut events).await;
    assert_eq!(&d4[..], &fourth[..]);
    handle.shutdown().await;
}

#[tokio::test]
async fn tcp_over_ipv6() {
    if !ipv6_available() {
        return;
    }
    let (handle, mut events) = start(config(&["tcp:[::1]:0"])).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    assert!(server.is_ipv6());
    let mut client = TcpStream::connect(server).await.unwrap();
    let request = sip_request("v6", "over ipv6");
    client.write_all(&request).await.unwrap();
    let (source, data) = next_message(&mut events).await;
    assert_eq!(&data[..], &request[..]);
    assert!(source.remote.is_ipv6());
    handle.shutdown().await;
}

#[tokio::test]
async fn ping_gets_pong_and_no_event() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    client.write_all(b"\r\n\r\n").await.unwrap();
    assert_eq!(read_n(&mut client, 2).await, b"\r\n");
    // A ping split across writes is still one ping.
    client.write_all(b"\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    client.write_all(b"\r\n").await.unwrap();
    assert_eq!(read_n(&mut client, 2).await, b"\r\n");
    assert_no_event(&mut events, Duration::from_millis(150)).await;
    // Keep-alives between messages do not disturb framing.
    let request = sip_request("after-ping", "x");
    let mut bytes = b"\r\n\r\n".to_vec();
    bytes.extend_from_slice(&request);
    client.write_all(&bytes).await.unwrap();
    let (_, data) = next_message(&mut events).await;
    assert_eq!(&data[..], &request[..]);
    assert_eq!(read_n(&mut client, 2).await, b"\r\n");
    assert_eq!(handle.stats().keepalive_pings, 3);
    handle.shutdown().await;
}

#[tokio::test]
async fn reply_over_the_same_flow_then_flow_closed_on_disconnect() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    client.write_all(&sip_request("r", "")).await.unwrap();
    let (source, _) = next_message(&mut events).await;
    let flow = source.flow.unwrap();

    let reply = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    let used = handle
        .send(Target::Flow(flow), Bytes::from_static(reply))
        .await
        .unwrap();
    assert_eq!(used, Some(flow));
    assert_eq!(read_n(&mut client, reply.len()).await, reply);

    drop(client);
    let (closed, remote) = next_closed(&mut events).await;
    assert_eq!(closed, flow);
    assert_eq!(remote, source.remote);
    assert!(!handle.flow_alive(flow));
    assert_eq!(handle.flow_remote(flow), None);
    assert_eq!(handle.connection_count(), 0);
    let err = handle
        .send(Target::Flow(flow), Bytes::from_static(reply))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::NoSuchFlow(f) if f == flow),
        "{err}"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn close_flow_closes_the_connection_and_reports_it() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    client.write_all(&sip_request("c", "")).await.unwrap();
    let flow = next_message(&mut events).await.0.flow.unwrap();
    handle.close_flow(flow);
    assert_eq!(next_closed(&mut events).await.0, flow);
    assert!(closed_by_server(&mut client).await);
    assert!(!handle.flow_alive(flow));
    handle.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_reaped_but_keepalives_keep_them() {
    let config = TransportConfig {
        idle_timeout: Duration::from_millis(400),
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);

    let mut busy = TcpStream::connect(server).await.unwrap();
    busy.write_all(&sip_request("busy", "")).await.unwrap();
    let busy_flow = next_message(&mut events).await.0.flow.unwrap();
    let mut quiet = TcpStream::connect(server).await.unwrap();
    quiet.write_all(&sip_request("quiet", "")).await.unwrap();
    let quiet_flow = next_message(&mut events).await.0.flow.unwrap();

    let started = tokio::time::Instant::now();
    let mut pongs = 0;
    while started.elapsed() < Duration::from_millis(1000) {
        busy.write_all(b"\r\n\r\n").await.unwrap();
        assert_eq!(read_n(&mut busy, 2).await, b"\r\n");
        pongs += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pongs >= 5);
    let (closed, _) = next_closed(&mut events).await;
    assert_eq!(closed, quiet_flow, "only the quiet flow is reaped");
    assert!(handle.flow_alive(busy_flow));
    assert!(closed_by_server(&mut quiet).await);

    // Once the busy one goes quiet too, it is reaped.
    assert_eq!(next_closed(&mut events).await.0, busy_flow);
    assert!(closed_by_server(&mut busy).await);
    handle.shutdown().await;
}

#[tokio::test]
async fn oversized_stream_message_closes_the_connection() {
    let config = TransportConfig {
        max_message_size: 400,
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);

    // A Content-Length that takes the message over the limit.
    let mut big = TcpStream::connect(server).await.unwrap();
    big.write_all(&sip_request("big", &"x".repeat(300)))
        .await
        .unwrap();
    next_closed_after_unframeable(&mut events).await;
    assert!(closed_by_server(&mut big).await);

    // Headers that never end.
    let mut endless = TcpStream::connect(server).await.unwrap();
    let header_flood = "X-Filler: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n".repeat(20);
    let mut bytes = b"MESSAGE sip:bob@example.com SIP/2.0\r\n".to_vec();
    bytes.extend_from_slice(header_flood.as_bytes());
    // The peer may reset while we still write; that is the point.
    let _ = endless.write_all(&bytes).await;
    next_closed_after_unframeable(&mut events).await;
    assert!(closed_by_server(&mut endless).await);
    assert_eq!(handle.stats().framing_errors, 2);
    assert_eq!(handle.stats().stream_messages_in, 0);
    handle.shutdown().await;
}

#[tokio::test]
async fn unframeable_stream_closes_the_connection() {
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    // No Content-Length: the end of the message cannot be known on a stream.
    let bad = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n";
    client.write_all(bad).await.unwrap();
    let (source, data, reason) = match next_event(&mut events).await {
        Event::Unframeable {
            source,
            data,
            reason,
            status,
        } => {
            assert_eq!(status, 400);
            (source, data, reason)
        }
        other => panic!("expected Unframeable, got {other:?}"),
    };
    assert_eq!(&data[..], &bad[..]);
    assert!(!reason.is_empty());
    // The flow lingers long enough for an answer to the bad bytes to get through.
    let flow = source.flow.expect("a stream has a flow");
    handle
        .send(
            Target::Flow(flow),
            Bytes::from_static(b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        )
        .await
        .unwrap();
    let mut got = vec![0u8; 128];
    let n = tokio::time::timeout(Duration::from_secs(2), client.read(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(
        got[..n].starts_with(b"SIP/2.0 400"),
        "{:?}",
        String::from_utf8_lossy(&got[..n])
    );
    next_closed(&mut events).await;
    assert!(closed_by_server(&mut client).await);
    handle.shutdown().await;
}

#[tokio::test]
async fn slowloris_partial_message_times_out() {
    let config = TransportConfig {
        partial_message_timeout: Duration::from_millis(300),
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    let request = sip_request("slow", "");
    let started = tokio::time::Instant::now();
    // Dribbling keeps the connection active, but the message never completes in time.
    for byte in request.iter().take(40) {
        if client.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    next_closed(&mut events).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(closed_by_server(&mut client).await);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_slow_consumer_slows_the_reader_without_losing_messages() {
    let config = TransportConfig {
        event_queue: 1,
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    let mut all = Vec::new();
    for i in 0..20 {
        all.extend_from_slice(&sip_request(&format!("bp{i}"), &i.to_string()));
    }
    client.write_all(&all).await.unwrap();
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (_, data) = next_message(&mut events).await;
        assert_eq!(
            &data[..],
            &sip_request(&format!("bp{i}"), &i.to_string())[..]
        );
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn outbound_connect_by_address_and_reuse() {
    // A plain socket plays the remote server.
    let remote = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let remote_addr = remote.local_addr().unwrap();
    let (handle, mut events) = start(config(&["tcp:127.0.0.1:0"])).await.unwrap();
    let target = Target::Addr {
        transport: Transport::Tcp,
        addr: remote_addr,
    };

    let first = sip_request("out1", "first");
    let flow = handle
        .send(target, Bytes::from(first.clone()))
        .await
        .unwrap()
        .expect("TCP sends use a flow");
    let (mut peer, _) = tokio::time::timeout(WAIT, remote.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_n(&mut peer, first.len()).await, first);
    assert_eq!(handle.flow_remote(flow), Some(remote_addr));

    let second = sip_request("out2", "second");
    let again = handle
        .send(target, Bytes::from(second.clone()))
        .await
        .unwrap();
    assert_eq!(again, Some(flow), "the open flow is reused");
    assert_eq!(read_n(&mut peer, second.len()).await, second);

    // What the remote sends back arrives tagged with the outbound flow.
    let response = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    peer.write_all(response).await.unwrap();
    let (source, data) = next_message(&mut events).await;
    assert_eq!(&data[..], response);
    assert_eq!(source.flow, Some(flow));
    assert_eq!(source.remote, remote_addr);
    assert_eq!(handle.connection_count(), 1);

    drop(peer);
    assert_eq!(next_closed(&mut events).await.0, flow);
    // With the flow gone, the next send connects anew with a fresh id.
    let third = handle
        .send(target, Bytes::from_static(b"\r\n\r\n"))
        .await
        .unwrap();
    let (_peer2, _) = tokio::time::timeout(WAIT, remote.accept())
        .await
        .unwrap()
        .unwrap();
    assert!(third.is_some_and(|f| f != flow));
    handle.shutdown().await;
}

#[tokio::test]
async fn concurrent_sends_to_a_new_address_share_one_connection() {
    let remote = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::Addr {
        transport: Transport::Tcp,
        addr: remote.local_addr().unwrap(),
    };
    let (handle, _events) = start(config(&[])).await.unwrap();
    let sends = (0..8).map(|i| {
        let handle = handle.clone();
        tokio::spawn(async move {
            handle
                .send(target, Bytes::from(sip_request(&format!("c{i}"), "")))
                .await
        })
    });
    let mut flows = Vec::new();
    for send in sends {
        flows.push(send.await.unwrap().unwrap());
    }
    assert!(flows.windows(2).all(|w| w[0] == w[1]), "{flows:?}");
    assert_eq!(handle.connection_count(), 1);
    handle.shutdown().await;
}

#[tokio::test]
async fn outbound_connect_failure_is_reported() {
    // Bind then drop, so nothing listens on that port.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (handle, _events) = start(config(&[])).await.unwrap();
    let target = Target::Addr {
        transport: Transport::Tcp,
        addr,
    };
    let err = handle
        .send(target, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::ConnectFailed { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert_eq!(handle.connection_count(), 0);
    handle.shutdown().await;
}

#[tokio::test]
async fn per_ip_connection_limit_refuses_extra_connections() {
    let config = TransportConfig {
        max_connections_per_ip: 2,
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    let mut kept = Vec::new();
    for i in 0..2 {
        let mut client = TcpStream::connect(server).await.unwrap();
        client
            .write_all(&sip_request(&format!("l{i}"), ""))
            .await
            .unwrap();
        next_message(&mut events).await;
        kept.push(client);
    }
    let mut refused = TcpStream::connect(server).await.unwrap();
    assert!(closed_by_server(&mut refused).await);
    assert_eq!(handle.stats().connections_rejected, 1);
    assert_eq!(handle.connection_count(), 2);

    // Closing one frees a slot.
    drop(kept.pop());
    next_closed(&mut events).await;
    let mut again = TcpStream::connect(server).await.unwrap();
    again.write_all(&sip_request("l-again", "")).await.unwrap();
    next_message(&mut events).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn full_flow_queue_is_an_error_not_a_wait() {
    let config = TransportConfig {
        connection_write_queue: 1,
        ..config(&["tcp:127.0.0.1:0"])
    };
    let (handle, mut events) = start(config).await.unwrap();
    let mut client = TcpStream::connect(addr_of(&handle, Transport::Tcp))
        .await
        .unwrap();
    client.write_all(&sip_request("qf", "")).await.unwrap();
    let flow = next_message(&mut events).await.0.flow.unwrap();
    // The client never reads, so the socket buffers fill, then the queue does.
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let mut full = None;
    for _ in 0..10_000 {
        let sent = tokio::time::timeout(WAIT, handle.send(Target::Flow(flow), chunk.clone()))
            .await
            .expect("send must not block");
        if let Err(e) = sent {
            full = Some(e);
            break;
        }
        tokio::task::yield_now().await;
    }
    let err = full.expect("queue never filled");
    assert!(
        matches!(err, TransportError::QueueFull(f) if f == flow),
        "{err}"
    );
    drop(client);
    loop {
        if let Event::FlowClosed { flow: closed, .. } = next_event(&mut events).await {
            assert_eq!(closed, flow);
            break;
        }
    }
    handle.shutdown().await;
}
