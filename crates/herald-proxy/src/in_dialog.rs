//! Requests that follow a route set through us (RFC 3261 §16.4, §16.12): our Route
//! entries come off, the flow token says which peer is on the other side, and the
//! request goes there. ACKs for 2xx are forwarded statelessly.
use crate::flow_token::PARAM;
use crate::hop::Hop;
use crate::prepare;
use crate::proxy::Proxy;
use herald_sip::{HeaderName, Method, NameAddr, Request, Scheme, Uri};
use herald_transport::{Source, Transport};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};

/// What the Route processing found.
#[derive(Clone, Debug, Default)]
pub struct InDialog {
    /// How many of our Route entries came off.
    pub popped: usize,
    /// The two peers named by our flow token, when one of the entries carried it.
    pub peers: Option<(Hop, Hop)>,
}

impl Proxy {
    /// Removes the Route entries that name us from the top of `req` (all of them, for
    /// a double Record-Route), and undoes a strict router's rewrite (§16.4): when the
    /// Request-URI is one of our Record-Route URIs, the real target is the last Route.
    /// `is_local` says whether a URI without a token names this server (one of our
    /// domains or addresses): a preloaded outbound-proxy Route, for example.
    pub fn take_own_routes(&self, req: &mut Request, is_local: impl Fn(&Uri) -> bool) -> InDialog {
        let mut found = InDialog::default();
        if let Some(peers) = self.token_of(&req.uri) {
            let routes = req.headers.values(&HeaderName::Route);
            if let Some(last) = routes.last().and_then(|r| NameAddr::parse(r).ok()) {
                req.uri = last.uri;
                remove_last_route(req);
                found.peers = Some(peers);
            }
        }
        loop {
            let Some(top) = req.headers.values(&HeaderName::Route).into_iter().next() else {
                break;
            };
            let Ok(route) = NameAddr::parse(&top) else {
                break;
            };
            if let Some(peers) = self.token_of(&route.uri) {
                found.peers = Some(peers);
            } else if route.uri.user.is_some() || !is_local(&route.uri) {
                break;
            }
            req.headers.remove_first_value(&HeaderName::Route);
            found.popped += 1;
        }
        found
    }

    fn token_of(&self, uri: &Uri) -> Option<(Hop, Hop)> {
        uri.params.value(PARAM).and_then(|t| self.tokens.decode(t))
    }

    /// Where an in-dialog request from `source` goes: the next Route if one is left,
    /// else the peer on the other side of the flow token. None when the sender is
    /// neither peer (it reconnected, say): the caller resolves the Request-URI.
    pub async fn next_hop(&self, req: &Request, source: &Source, found: &InDialog) -> Option<Hop> {
        if let Some(route) = req.headers.values(&HeaderName::Route).into_iter().next() {
            let uri = NameAddr::parse(&route).ok()?.uri;
            return self.resolve_uri(&uri).await;
        }
        let (caller, callee) = found.peers?;
        if caller.is(source) {
            Some(callee)
        } else if callee.is(source) {
            Some(caller)
        } else {
            None
        }
    }

    /// The transport address a URI names directly (RFC 3263 without NAPTR/SRV: the
    /// transport parameter, the host's address, the port or the default).
    pub async fn resolve_uri(&self, uri: &Uri) -> Option<Hop> {
        let transport = match uri.transport_param().as_deref() {
            Some("tcp") => Transport::Tcp,
            Some("tls") => Transport::Tls,
            Some("udp") | None if uri.scheme != Scheme::Sips => Transport::Udp,
            Some("udp") | None => Transport::Tls,
            Some(_) => return None,
        };
        let port = uri.port.unwrap_or(transport.default_port());
        let ip: IpAddr = match &uri.host {
            herald_sip::Host::Ip(ip) => *ip,
            herald_sip::Host::Domain(name) => {
                let mut addrs = tokio::net::lookup_host((name.as_str(), port)).await.ok()?;
                addrs.next()?.ip()
            }
        };
        Some(Hop {
            transport,
            remote: SocketAddr::new(ip, port),
            flow: None,
        })
    }

    /// Keeps the dialog table current as an in-dialog request passes (CSeq per side;
    /// BYE ends the dialog).
    pub fn note_in_dialog(&self, req: &Request) {
        let (Some(call_id), Ok(from), Ok(to), Ok(cseq)) =
            (req.call_id(), req.from(), req.to(), req.cseq())
        else {
            return;
        };
        let (Some(from_tag), Some(to_tag)) = (from.tag(), to.tag()) else {
            return;
        };
        self.dialogs.on_request(
            call_id,
            from_tag,
            to_tag,
            cseq.seq,
            req.method == Method::Bye,
        );
    }

    /// Forwards an ACK (for a 2xx: end to end, no transaction) to `hop`. Its branch is
    /// derived from the incoming one, so a retransmitted ACK goes out identically.
    pub async fn forward_ack(&self, req: &Request, hop: &Hop) {
        let incoming = req
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        let digest = Sha256::digest(incoming.as_bytes());
        let branch = format!(
            "{}hs{}",
            herald_sip::via::BRANCH_MAGIC,
            hex::encode(digest.get(..12).unwrap_or_default())
        );
        let sent_by = self.addrs.sent_by(hop.transport, hop.remote);
        let out = prepare::branch_request(
            req,
            None,
            prepare::via(hop.transport, &sent_by, &branch),
            &[],
        );
        let target = hop.target(|f| self.wire.transport().flow_alive(f));
        self.wire.send(target, out.to_bytes()).await;
    }
}

fn remove_last_route(req: &mut Request) {
    let mut routes = req.headers.values(&HeaderName::Route);
    routes.pop();
    req.headers.remove(&HeaderName::Route);
    for r in routes {
        req.headers.push(HeaderName::Route, r);
    }
}
