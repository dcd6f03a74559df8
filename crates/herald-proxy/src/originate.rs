//! Requests the server sends on its own behalf (NOTIFYs of the presence service): our
//! Via on top, one client transaction, and the final response back to the caller.
use crate::hop::Hop;
use crate::prepare;
use crate::proxy::Proxy;
use crate::wire::BranchEvent;
use herald_sip::{HeaderName, Request, Response};
use herald_transport::{Target, Transport};
use tokio::sync::mpsc;

/// What became of a request we sent.
#[derive(Debug)]
pub enum Sent {
    /// Its final response.
    Answered(Response),
    /// No final response in time, or the transport could not carry it.
    Failed,
}

impl Proxy {
    /// `host:port` we are reached at over `transport` by `peer` (for a Contact of ours).
    pub fn sent_by(&self, transport: Transport, peer: std::net::SocketAddr) -> String {
        self.addrs.sent_by(transport, peer)
    }

    /// Whether the connection of a TCP/TLS hop is still open (a UDP hop always is).
    pub fn hop_alive(&self, hop: &Hop) -> bool {
        hop.flow.is_none_or(|f| self.wire.transport().flow_alive(f))
    }

    /// Sends `req` (no Via yet) to `target` over `transport` and waits for its final
    /// response. Provisional responses are skipped.
    pub async fn send_request(
        &self,
        mut req: Request,
        target: Target,
        transport: Transport,
        peer: std::net::SocketAddr,
    ) -> Sent {
        let sent_by = self.addrs.sent_by(transport, peer);
        let branch = herald_transaction::new_branch();
        req.headers
            .push_front(HeaderName::Via, prepare::via(transport, &sent_by, &branch));
        if req.headers.get(&HeaderName::MaxForwards).is_none() {
            req.headers.push(
                HeaderName::MaxForwards,
                prepare::DEFAULT_MAX_FORWARDS.to_string(),
            );
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let key = match self
            .wire
            .start_client(&req, target, transport.is_reliable(), 0, tx)
            .await
        {
            Ok(key) => key,
            Err(e) => {
                tracing::debug!(error = %e, "request not sent");
                return Sent::Failed;
            }
        };
        let outcome = loop {
            match rx.recv().await {
                Some((_, BranchEvent::Response(resp))) if resp.status >= 200 => {
                    break Sent::Answered(resp);
                }
                Some((_, BranchEvent::Response(_))) => continue,
                Some((_, BranchEvent::Timeout)) | None => break Sent::Failed,
            }
        };
        self.wire.forget_client(&key);
        outcome
    }

    /// Sends `req` to a peer over its hop (its connection while open).
    pub async fn send_to_hop(&self, req: Request, hop: &Hop) -> Sent {
        let target = hop.target(|f| self.wire.transport().flow_alive(f));
        self.send_request(req, target, hop.transport, hop.remote)
            .await
    }
}
