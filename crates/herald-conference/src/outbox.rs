//! What the focus sends into one dialog (a participant's, or a roster subscriber's):
//! a bounded queue and one task that sends its requests one at a time, so they arrive
//! in order with rising CSeqs, and a slow peer only ever fills its own queue. A peer
//! that stops answering (481, 408, no response, connection gone) is reported once.
//!
//! A full queue means one of two things: the peer stopped keeping up (its request in
//! flight has waited long: it is *stalled*), or the server itself is behind (the peer
//! answers each request at once, the queue fills because the server sends slowly).
//! Only the first is the peer's fault; [`Outbox::stalled`] tells them apart.
use bytes::Bytes;
use herald_dialog::Dialog;
use herald_proxy::{Hop, Proxy, Sent};
use herald_sip::{HeaderName, Method, SipStr};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// One request to send in the dialog.
#[derive(Clone, Debug)]
pub(crate) struct OutItem {
    pub method: Method,
    pub headers: Vec<(HeaderName, SipStr)>,
    /// Content-Type and body.
    pub body: Option<(SipStr, Bytes)>,
}

impl OutItem {
    pub fn new(method: Method) -> OutItem {
        OutItem {
            method,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// What became of a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    Queued,
    /// The queue is full: the peer is too slow.
    Full,
    /// The outbox was closed.
    Closed,
}

/// Called once when the peer stopped answering.
pub(crate) type OnFailure = Box<dyn FnOnce() + Send + Sync>;

/// Everything the sending task needs.
pub(crate) struct OutboxSetup {
    pub proxy: Arc<Proxy>,
    pub dialog: Arc<Mutex<Dialog>>,
    pub hop: Hop,
    /// Our Contact header value.
    pub contact: SipStr,
    pub user_agent: SipStr,
    pub capacity: usize,
    pub on_failure: OnFailure,
}

struct Control {
    stop: AtomicBool,
    bye: AtomicBool,
    wake: Notify,
    /// A request is in flight.
    busy: AtomicBool,
    /// When the request in flight was sent, in ms since `epoch`.
    sent_at: AtomicU64,
    epoch: Instant,
}

impl Control {
    fn new() -> Control {
        Control {
            stop: AtomicBool::new(false),
            bye: AtomicBool::new(false),
            wake: Notify::new(),
            busy: AtomicBool::new(false),
            sent_at: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// Room reserved in a queue (kept while the caller finishes its checks).
pub(crate) enum Reserve {
    Room(mpsc::OwnedPermit<OutItem>),
    Full,
    Closed,
}

/// The sending side of a dialog's queue.
pub(crate) struct Outbox {
    tx: mpsc::Sender<OutItem>,
    control: Arc<Control>,
}

impl Outbox {
    pub fn start(setup: OutboxSetup) -> Outbox {
        let (tx, rx) = mpsc::channel(setup.capacity.max(1));
        let control = Arc::new(Control::new());
        tokio::spawn(run(setup, rx, control.clone()));
        Outbox { tx, control }
    }

    pub fn push(&self, item: OutItem) -> Push {
        if self.control.stop.load(Ordering::Acquire) {
            return Push::Closed;
        }
        match self.tx.try_send(item) {
            Ok(()) => Push::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Push::Full,
            Err(mpsc::error::TrySendError::Closed(_)) => Push::Closed,
        }
    }

    /// Reserves room for one request (sent later with the permit, in reservation order).
    pub fn reserve(&self) -> Reserve {
        if self.control.stop.load(Ordering::Acquire) {
            return Reserve::Closed;
        }
        match self.tx.clone().try_reserve_owned() {
            Ok(permit) => Reserve::Room(permit),
            Err(mpsc::error::TrySendError::Full(_)) => Reserve::Full,
            Err(mpsc::error::TrySendError::Closed(_)) => Reserve::Closed,
        }
    }

    /// Whether the peer has left the request in flight unanswered for `patience`.
    pub fn stalled(&self, patience: Duration) -> bool {
        let c = &self.control;
        c.busy.load(Ordering::Acquire)
            && c.now_ms().saturating_sub(c.sent_at.load(Ordering::Acquire))
                >= patience.as_millis() as u64
    }

    /// Sends what is queued, then stops (the last item ends the dialog, say).
    pub fn finish(self) {
        drop(self);
    }

    /// Stops at once: what is still queued is dropped; with `bye`, a BYE ends the
    /// dialog (after the request in flight, if any).
    pub fn abort(&self, bye: bool) {
        self.control.bye.store(bye, Ordering::Release);
        self.control.stop.store(true, Ordering::Release);
        self.control.wake.notify_one();
    }
}

async fn run(mut setup: OutboxSetup, mut rx: mpsc::Receiver<OutItem>, control: Arc<Control>) {
    let mut on_failure = Some(std::mem::replace(&mut setup.on_failure, Box::new(|| {})));
    loop {
        let item = tokio::select! {
            biased;
            _ = control.wake.notified() => None,
            item = rx.recv() => item,
        };
        let Some(item) = item else { break };
        if control.stop.load(Ordering::Acquire) {
            break;
        }
        control.sent_at.store(control.now_ms(), Ordering::Release);
        control.busy.store(true, Ordering::Release);
        let delivered = send(&setup, item).await;
        control.busy.store(false, Ordering::Release);
        if !delivered {
            if let Some(report) = on_failure.take() {
                report();
            }
            return;
        }
    }
    if control.bye.load(Ordering::Acquire) {
        send(&setup, OutItem::new(Method::Bye)).await;
    }
}

/// Sends one request; false when the peer is gone (the dialog is over).
async fn send(setup: &OutboxSetup, item: OutItem) -> bool {
    let Some(mut req) = setup.dialog.lock().request(item.method) else {
        return false;
    };
    let h = &mut req.headers;
    h.push(HeaderName::Contact, setup.contact.clone());
    h.push(HeaderName::UserAgent, setup.user_agent.clone());
    for (name, value) in item.headers {
        h.push(name, value);
    }
    if let Some((content_type, body)) = item.body {
        h.push(HeaderName::ContentType, content_type);
        req.body = body;
    }
    match setup.proxy.send_to_hop(req, &setup.hop).await {
        // 481: the peer forgot the dialog; 408: gone (RFC 5057 §5.1, §5.2).
        Sent::Answered(resp) => !matches!(resp.status, 408 | 410 | 481),
        Sent::Failed => false,
    }
}
