//! `start_sharded`: each peer's events go to one queue, in order, and the peers spread
//! over the queues.
mod common;

use std::collections::HashSet;
use std::net::SocketAddr;

use common::*;
use herald_transport::{Event, Transport, start_sharded};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc::Receiver;

const QUEUES: usize = 4;
const PEERS: usize = 32;
const PER_PEER: usize = 5;

/// Takes `count` events from whichever queues have them; returns each with its queue.
async fn collect(queues: &mut [Receiver<Event>], count: usize) -> Vec<(usize, Event)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} events",
            got.len()
        );
        let mut idle = true;
        for (i, queue) in queues.iter_mut().enumerate() {
            while let Ok(event) = queue.try_recv() {
                got.push((i, event));
                idle = false;
            }
        }
        if idle {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    got
}

fn remote_of(event: &Event) -> SocketAddr {
    match event {
        Event::Message { source, .. } | Event::Unframeable { source, .. } => source.remote,
        Event::FlowClosed { remote, .. } => *remote,
    }
}

/// Every peer's events came on one queue, its messages in the order sent; more than one
/// queue was used.
fn check_spread(got: &[(usize, Event)], tag_of: impl Fn(&Event) -> Option<String>) {
    let mut queue_of = std::collections::HashMap::new();
    let mut order = std::collections::HashMap::<SocketAddr, Vec<String>>::new();
    for (queue, event) in got {
        let remote = remote_of(event);
        assert_eq!(
            *queue_of.entry(remote).or_insert(*queue),
            *queue,
            "{remote} on two queues"
        );
        if let Some(tag) = tag_of(event) {
            order.entry(remote).or_default().push(tag);
        }
    }
    for tags in order.values() {
        let mut sorted = tags.clone();
        sorted.sort();
        assert_eq!(tags, &sorted, "one peer's messages out of order");
    }
    let used: HashSet<usize> = queue_of.values().copied().collect();
    assert!(
        used.len() > 1,
        "{PEERS} peers all on one of {QUEUES} queues"
    );
}

fn tag(event: &Event) -> Option<String> {
    match event {
        Event::Message { data, .. } => {
            let text = String::from_utf8_lossy(data);
            let start = text.find("tag=")? + 4;
            let end = text[start..].find("\r\n")? + start;
            Some(text[start..end].to_owned())
        }
        _ => None,
    }
}

#[tokio::test]
async fn udp_peers_keep_their_queue_and_their_order() {
    let (handle, mut queues) = start_sharded(config(&["udp:127.0.0.1:0"]), QUEUES)
        .await
        .unwrap();
    assert_eq!(queues.len(), QUEUES);
    let server = addr_of(&handle, Transport::Udp);
    let mut clients = Vec::new();
    for _ in 0..PEERS {
        clients.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    for n in 0..PER_PEER {
        for client in &clients {
            let request = sip_request(&format!("m{n}"), "x");
            client.send_to(&request, server).await.unwrap();
        }
    }
    let got = collect(&mut queues, PEERS * PER_PEER).await;
    check_spread(&got, tag);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_connection_and_its_close_share_a_queue() {
    let (handle, mut queues) = start_sharded(config(&["tcp:127.0.0.1:0"]), QUEUES)
        .await
        .unwrap();
    let server = addr_of(&handle, Transport::Tcp);
    for _ in 0..PEERS {
        let mut stream = TcpStream::connect(server).await.unwrap();
        for n in 0..PER_PEER {
            stream
                .write_all(&sip_request(&format!("m{n}"), "x"))
                .await
                .unwrap();
        }
        stream.shutdown().await.unwrap();
    }
    let got = collect(&mut queues, PEERS * (PER_PEER + 1)).await;
    check_spread(&got, tag);
    // Each close came after that connection's messages, on the same queue.
    for (i, (queue, event)) in got.iter().enumerate() {
        if let Event::FlowClosed { remote, .. } = event {
            let later = got[i + 1..]
                .iter()
                .any(|(q, e)| q == queue && remote_of(e) == *remote);
            assert!(!later, "an event of {remote} after its close");
        }
    }
    handle.shutdown().await;
}
