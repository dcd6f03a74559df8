//! Receiving and sending UDP datagrams: one message per datagram (RFC 3261 §18).
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;

use crate::error::TransportError;
use crate::event::{Event, Source};
use crate::shared::{Shared, UdpEndpoint, shut_down};
use crate::stats::{add, bump};
use crate::transport::Transport;

/// Largest UDP payload over IPv4 or IPv6 without jumbograms.
const MAX_DATAGRAM: usize = 65_535;
/// Pause after a receive error, so that a persistent one does not spin a core.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Receives datagrams on one socket until shutdown. Several may run per socket.
pub(crate) async fn receive_loop(shared: Arc<Shared>, endpoint: Arc<UdpEndpoint>) {
    let max = shared.config.max_message_size;
    // One byte more than allowed, so that an oversized datagram shows as such
    // instead of arriving silently truncated.
    let mut buf = vec![0u8; max.min(MAX_DATAGRAM).saturating_add(1)];
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let received = tokio::select! {
            () = shut_down(&mut shutdown) => return,
            received = endpoint.socket.recv_from(&mut buf) => received,
        };
        let (len, remote) = match received {
            Ok(received) => received,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems.
                tracing::debug!(local = %endpoint.local, "UDP receive failed: {e}");
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
                continue;
            }
        };
        bump(&shared.counters.datagrams_in);
        add(&shared.counters.bytes_in, len as u64);
        // Before anything looks at the bytes: a banned source costs no parsing.
        if !shared.admit_message(remote.ip()) {
            continue;
        }
        if len > max {
            bump(&shared.counters.datagrams_too_large);
            tracing::debug!(%remote, len, max, "dropping oversized datagram");
            continue;
        }
        let Some(payload) = buf.get(..len) else {
            continue;
        };
        if is_keepalive(payload) {
            continue;
        }
        let event = Event::Message {
            source: Source {
                transport: Transport::Udp,
                local: endpoint.local,
                remote,
                flow: None,
            },
            data: Bytes::copy_from_slice(payload),
            received: Instant::now(),
        };
        // Never wait: the kernel buffer, not this task, is where datagrams queue, and
        // a datagram dropped here is one the sender retransmits anyway.
        match shared.events_for(remote).try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&shared.counters.datagrams_dropped),
            Err(TrySendError::Closed(_)) => return,
        }
    }
}

/// Empty datagrams and bare CRLFs, which some clients send over UDP to keep NAT
/// bindings open; they carry no message.
fn is_keepalive(payload: &[u8]) -> bool {
    payload.iter().all(|b| matches!(b, b'\r' | b'\n'))
}

/// Sends one datagram to `remote` from the best-suited UDP listener socket.
pub(crate) async fn send(
    shared: &Shared,
    remote: SocketAddr,
    data: &[u8],
) -> Result<(), TransportError> {
    let remote = SocketAddr::new(remote.ip().to_canonical(), remote.port());
    let endpoint = pick_endpoint(&shared.udp, remote).ok_or(TransportError::NoUdpSocket(remote))?;
    let sent = endpoint
        .socket
        .send_to(data, remote)
        .await
        .map_err(|source| TransportError::SendFailed {
            addr: remote,
            source,
        })?;
    if sent != data.len() {
        return Err(TransportError::SendFailed {
            addr: remote,
            source: io::Error::new(io::ErrorKind::WriteZero, "datagram truncated"),
        });
    }
    bump(&shared.counters.datagrams_out);
    add(&shared.counters.bytes_out, sent as u64);
    Ok(())
}

/// Of the sockets of `remote`'s address family: one bound to `remote`'s own IP (a
/// loopback listener for a loopback peer), else a wildcard one, else any.
fn pick_endpoint(endpoints: &[Arc<UdpEndpoint>], remote: SocketAddr) -> Option<&UdpEndpoint> {
    let same_family = || {
        endpoints
            .iter()
            .map(Arc::as_ref)
            .filter(move |e| e.local.is_ipv4() == remote.is_ipv4())
    };
    same_family()
        .find(|e| e.local.ip() == remote.ip())
        .or_else(|| same_family().find(|e| e.local.ip().is_unspecified()))
        .or_else(|| same_family().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalives_are_crlf_only() {
        assert!(is_keepalive(b""));
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(b"\r\nOPTIONS"));
    }

    #[tokio::test]
    async fn picks_same_family_preferring_exact_then_wildcard() {
        let bind = |addr: &str| {
            let socket = std::net::UdpSocket::bind(addr).unwrap();
            socket.set_nonblocking(true).unwrap();
            let socket = tokio::net::UdpSocket::from_std(socket).unwrap();
            Arc::new(UdpEndpoint {
                local: socket.local_addr().unwrap(),
                socket: Arc::new(socket),
            })
        };
        let loopback = bind("127.0.0.1:0");
        let wildcard = bind("0.0.0.0:0");
        let endpoints = vec![Arc::clone(&loopback), Arc::clone(&wildcard)];
        let pick =
            |remote: &str| pick_endpoint(&endpoints, remote.parse().unwrap()).map(|e| e.local);
        assert_eq!(pick("127.0.0.1:5060"), Some(loopback.local));
        assert_eq!(pick("192.0.2.7:5060"), Some(wildcard.local));
        assert_eq!(pick("[2001:db8::1]:5060"), None);
        let only_loopback = vec![Arc::clone(&loopback)];
        let picked = pick_endpoint(&only_loopback, "192.0.2.7:5060".parse().unwrap());
        assert_eq!(picked.map(|e| e.local), Some(loopback.local));
    }
}
