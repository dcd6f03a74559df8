//! The thread-safe driver: the layer split into independently locked shards, plus one
//! tokio task that fires the shards' timers.
use crate::{
    error::TransactionError,
    key::TransactionKey,
    layer::TransactionLayer,
    output::{Incoming, Output},
    timers::Timers,
};
use herald_sip::{Method, ParseError, Request, Response};
use parking_lot::Mutex;
use std::{
    hash::{BuildHasher, RandomState},
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

/// How often the timer task looks at the shards. Retransmission timers start at T1
/// (500 ms), so 10 ms of lateness is harmless, and an idle check is one lock per shard.
const TICK: Duration = Duration::from_millis(10);

/// Receives every output produced by timers.
pub type OutputSink<C> = Arc<dyn Fn(Output<C>) + Send + Sync>;

/// Thread-safe driver: N shards (by a hash of the key) of
/// `parking_lot::Mutex<TransactionLayer<C>>`, and one shared timer task.
///
/// An INVITE, its ACK and its CANCEL always land in the same shard (they share a
/// branch, or for RFC 2543 peers a Call-ID), so CANCEL matching works across shards.
pub struct TransactionManager<C> {
    shards: Box<[Mutex<TransactionLayer<C>>]>,
    hasher: RandomState,
    sink: OutputSink<C>,
}

impl<C: Clone + Send + 'static> TransactionManager<C> {
    /// `sink` receives every Output produced by timers (Sends to put on the wire,
    /// Timeouts/ServerTerminated for the TU). Spawns the timer task, which ends when the
    /// manager is dropped.
    ///
    /// # Panics
    /// When called outside a tokio runtime (like `tokio::spawn`).
    pub fn new(timers: Timers, shards: usize, sink: OutputSink<C>) -> Arc<Self> {
        let shards = (0..shards.max(1))
            .map(|_| Mutex::new(TransactionLayer::new(timers)))
            .collect();
        let manager = Arc::new(TransactionManager {
            shards,
            hasher: RandomState::new(),
            sink,
        });
        tokio::spawn(run_timers(Arc::downgrade(&manager)));
        manager
    }

    fn shard(&self, key: &TransactionKey) -> &Mutex<TransactionLayer<C>> {
        let hash = self.hasher.hash_one(key.affinity());
        // `shards` is never empty, so the remainder is always a valid index.
        let index = (hash % self.shards.len() as u64) as usize;
        &self.shards[index]
    }

    /// See [`TransactionLayer::on_request`].
    pub fn on_request(
        &self,
        req: &Request,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<Incoming<C>, ParseError> {
        let key = TransactionKey::for_request(req)?;
        self.shard(&key)
            .lock()
            .on_request_with_key(req, key, ctx, reliable, now, outputs)
    }

    /// Whether `req` belongs to a live server transaction (a retransmission, or the ACK
    /// of a non-2xx final response). Lets a caller that is about to answer statelessly
    /// leave requests the transaction layer already knows to it. A request without the
    /// fields matching needs is not known.
    pub fn knows(&self, req: &Request) -> bool {
        TransactionKey::for_request(req).is_ok_and(|key| self.shard(&key).lock().contains(&key))
    }

    /// See [`TransactionLayer::respond`].
    pub fn respond(
        &self,
        key: &TransactionKey,
        response: &Response,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<(), TransactionError> {
        self.shard(key).lock().respond(key, response, now, outputs)
    }

    /// See [`TransactionLayer::send_request`].
    pub fn send_request(
        &self,
        req: &Request,
        ctx: C,
        reliable: bool,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<TransactionKey, TransactionError> {
        if req.method == Method::Ack {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let key = TransactionKey::for_client_request(req)?;
        self.shard(&key)
            .lock()
            .send_request_with_key(req, key, ctx, reliable, now, outputs)
    }

    /// See [`TransactionLayer::on_response`].
    pub fn on_response(
        &self,
        resp: &Response,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<bool, ParseError> {
        let key = TransactionKey::for_response(resp)?;
        Ok(self
            .shard(&key)
            .lock()
            .on_response_with_key(resp, &key, now, outputs))
    }

    /// See [`TransactionLayer::cancel`].
    pub fn cancel(
        &self,
        invite: &TransactionKey,
        now: Instant,
        outputs: &mut Vec<Output<C>>,
    ) -> Result<(), TransactionError> {
        self.shard(invite).lock().cancel(invite, now, outputs)
    }

    /// See [`TransactionLayer::on_transport_error`].
    pub fn on_transport_error(&self, key: &TransactionKey, outputs: &mut Vec<Output<C>>) -> bool {
        self.shard(key).lock().on_transport_error(key, outputs)
    }

    /// Fires every timer due at `now` in every shard and hands the outputs to the sink
    /// (outside the shard locks, so the sink may call back into the manager). The timer
    /// task calls this on each tick.
    pub fn poll(&self, now: Instant) {
        let mut outputs = Vec::new();
        for shard in self.shards.iter() {
            {
                let mut layer = shard.lock();
                if layer
                    .next_deadline()
                    .is_some_and(|deadline| deadline <= now)
                {
                    layer.poll(now, &mut outputs);
                }
            }
            for output in outputs.drain(..) {
                (self.sink)(output);
            }
        }
    }

    /// Live transactions over all shards.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().len()).sum()
    }

    /// True when no shard holds a live transaction.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| shard.lock().is_empty())
    }
}

/// Ticks until the manager is gone. The clock is tokio's, so a runtime with paused
/// time drives the timers deterministically.
async fn run_timers<C: Clone + Send + 'static>(manager: Weak<TransactionManager<C>>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(manager) = manager.upgrade() else {
            break;
        };
        manager.poll(tokio::time::Instant::now().into_std());
    }
}
