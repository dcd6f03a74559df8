//! The proxy's shared state: the wire, loop detection, flow tokens, our advertised
//! addresses, the record-routed dialogs and the forks an upstream CANCEL may stop.
use crate::dialogs::{DialogTable, Direction, Side};
use crate::flow_token::FlowTokens;
use crate::local_addr::LocalAddresses;
use crate::loops::LoopDetector;
use crate::prepare;
use crate::wire::Wire;
use herald_sip::{HeaderName, Method, Request, Response, Uri, response};
use herald_transaction::{KeyHash, TransactionKey};
use herald_transport::{FlowId, ListenSpec};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Host name or address to put in our Via and Record-Route instead of the
    /// listener's address (a server behind NAT or with a DNS name).
    pub advertise: Option<String>,
    /// A record-routed dialog with no request for this long is forgotten.
    pub dialog_idle: Duration,
    /// `User-Agent` of requests we originate.
    pub product: String,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            advertise: None,
            dialog_idle: Duration::from_secs(12 * 3600),
            product: concat!("Herald/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

pub struct Proxy {
    pub(crate) wire: Arc<Wire>,
    pub(crate) loops: LoopDetector,
    pub(crate) tokens: FlowTokens,
    pub(crate) addrs: LocalAddresses,
    pub(crate) dialogs: DialogTable,
    /// Forks of INVITE server transactions, woken by the upstream CANCEL.
    pub(crate) cancels: Mutex<HashMap<TransactionKey, Arc<Notify>, KeyHash>>,
    /// To tag of responses the proxy makes itself (408, 487, 500...).
    pub(crate) tag: String,
    pub(crate) config: ProxyConfig,
}

impl Proxy {
    pub fn new(wire: Arc<Wire>, listeners: Vec<ListenSpec>, config: ProxyConfig) -> Self {
        Proxy {
            wire,
            loops: LoopDetector::new(),
            tokens: FlowTokens::new(),
            addrs: LocalAddresses::new(listeners, config.advertise.clone()),
            dialogs: DialogTable::default(),
            cancels: Mutex::new(HashMap::default()),
            tag: format!("{:016x}", rand::random::<u64>()),
            config,
        }
    }

    pub fn wire(&self) -> &Arc<Wire> {
        &self.wire
    }

    /// Whether `req` already passed through us unchanged (§16.3 item 4).
    pub fn is_loop(&self, req: &Request) -> bool {
        self.loops.is_loop(req)
    }

    /// A response the proxy makes itself to `req`.
    pub fn local_response(&self, req: &Request, status: u16, reason: Option<&str>) -> Response {
        response::from_request(req, status, reason, Some(&self.tag))
    }

    /// The upstream CANCELed the INVITE server transaction `key`: its fork cancels its
    /// branches and answers 487. A CANCEL that overtakes the fork (still authenticating,
    /// say) is kept, and the fork ends as soon as it starts.
    pub fn cancel_upstream(&self, key: &TransactionKey) {
        self.cancels
            .lock()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Notify::new()))
            .notify_one();
    }

    /// The task that answers the server transaction `key` is done: drop any CANCEL
    /// kept for it.
    pub fn forget_upstream(&self, key: &TransactionKey) {
        self.cancels.lock().remove(key);
    }

    /// Record-routed dialogs currently known.
    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    /// Forgets dialogs that saw no request for `dialog_idle`.
    pub fn sweep(&self) {
        let n = self.dialogs.sweep(self.config.dialog_idle);
        if n > 0 {
            tracing::debug!(count = n, "idle dialogs forgotten");
        }
    }

    /// A connection ended: every dialog with a side on it is over; the side still
    /// there gets a BYE (RFC 3326 Reason says why).
    pub async fn flow_closed(&self, flow: FlowId) {
        for (dialog, gone) in self.dialogs.take_flow(flow) {
            let (from, to) = match gone {
                Direction::FromCaller => (&dialog.caller, &dialog.callee),
                Direction::FromCallee => (&dialog.callee, &dialog.caller),
            };
            tracing::info!(call_id = %dialog.call_id, "endpoint connection closed: ending its IM session");
            let Some(bye) = self.bye(&dialog.call_id, from, to) else {
                continue;
            };
            let target = to.hop.target(|f| self.wire.transport().flow_alive(f));
            let (tx, rx) = mpsc::unbounded_channel();
            // The answer does not matter; the client transaction retransmits on UDP.
            drop(rx);
            if let Err(e) = self
                .wire
                .start_client(&bye, target, to.hop.transport.is_reliable(), 0, tx)
                .await
            {
                tracing::debug!(error = %e, "BYE not sent");
            }
        }
    }

    /// A BYE as if sent by `from` to `to` within the dialog.
    fn bye(&self, call_id: &str, from: &Side, to: &Side) -> Option<Request> {
        let uri = Uri::parse_str(&to.contact).ok()?;
        let mut req = Request::new(Method::Bye, uri);
        let sent_by = self.addrs.sent_by(to.hop.transport, to.hop.remote);
        let branch = herald_transaction::new_branch();
        req.headers.push(
            HeaderName::Via,
            prepare::via(to.hop.transport, &sent_by, &branch),
        );
        req.headers.push(
            HeaderName::MaxForwards,
            prepare::DEFAULT_MAX_FORWARDS.to_string(),
        );
        req.headers.push(HeaderName::From, from.identity.clone());
        req.headers.push(HeaderName::To, to.identity.clone());
        req.headers.push(HeaderName::CallId, call_id.to_owned());
        let cseq = from.cseq.map_or(1, |c| c.saturating_add(1));
        req.headers.push(HeaderName::CSeq, format!("{cseq} BYE"));
        req.headers.push(
            HeaderName::Other("Reason".into()),
            "SIP;cause=480;text=\"The other endpoint disconnected\"",
        );
        req.headers
            .push(HeaderName::UserAgent, self.config.product.clone());
        Some(req)
    }
}
