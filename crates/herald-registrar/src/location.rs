//! The location service: AOR -> bindings (RFC 3261 §10), each remembering the flow its
//! REGISTER came over so requests toward that endpoint reuse it (RFC 5626 §5.3) and a
//! UDP endpoint behind NAT is reached at the address its REGISTER came from (RFC 3581).
use async_trait::async_trait;
use herald_sip::{NameAddr, Uri};
use herald_transport::{FlowId, Source};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// What identifies a binding within an AOR: the `+sip.instance` (with `reg-id`) when
/// the client sent one (RFC 5626 §4.2), otherwise the contact URI as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BindingKey {
    Instance {
        instance: String,
        reg_id: Option<u32>,
    },
    Contact(String),
}

#[derive(Clone, Debug)]
pub struct Binding {
    pub key: BindingKey,
    /// The Contact as registered (URI and header params such as `+sip.instance`, `q`).
    pub contact: NameAddr,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: Instant,
    /// Transport, local/remote address and flow of the REGISTER that created or last refreshed it.
    pub source: Source,
    pub user_agent: Option<String>,
}

impl Binding {
    /// Seconds left before expiry (0 once expired).
    pub fn remaining(&self, now: Instant) -> u32 {
        let secs = self.expires_at.saturating_duration_since(now).as_secs();
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
    /// The request-URI to use toward this endpoint.
    pub fn uri(&self) -> &Uri {
        &self.contact.uri
    }
}

/// A change to one AOR's bindings, applied atomically by [`LocationService::apply`].
#[derive(Clone, Debug)]
pub enum Change {
    Upsert(Box<Binding>),
    Remove(BindingKey),
    RemoveAll,
}

/// Storage of bindings. A single server keeps them in memory ([`MemoryLocation`]);
/// bindings are soft state that clients refresh, so a restart loses nothing durable.
#[async_trait]
pub trait LocationService: Send + Sync + 'static {
    /// Live bindings of `aor` (expired ones are never returned). Shared, not copied:
    /// every request to a user and every REGISTER looks them up.
    async fn lookup(&self, aor: &str) -> Vec<Arc<Binding>>;
    /// Applies `changes` in order, atomically for that AOR, and returns the bindings after.
    async fn apply(&self, aor: &str, changes: Vec<Change>) -> Vec<Arc<Binding>>;
    /// Drops every binding of `aor` (user removed or disabled); returns how many.
    async fn remove_aor(&self, aor: &str) -> usize;
    /// Drops the bindings that registered over `flow` (the connection closed); returns
    /// the AORs affected.
    async fn remove_flow(&self, flow: FlowId) -> Vec<String>;
    /// Drops expired bindings; returns (aor, binding) for each.
    async fn expire(&self, now: Instant) -> Vec<(String, Arc<Binding>)>;
    /// Number of live bindings, and of AORs with at least one.
    async fn counts(&self) -> (usize, usize);
}

/// In-memory location service for a single server: sharded maps so that concurrent
/// REGISTERs of different users do not contend.
pub struct MemoryLocation {
    shards: Vec<RwLock<Shard>>,
}

#[derive(Default)]
struct Shard {
    by_aor: HashMap<String, Vec<Arc<Binding>>>,
    /// flow -> AORs with a binding over it, so a closed connection is cleaned in O(bindings on it).
    /// A set: one connection may carry thousands of users (an edge server, a load
    /// generator), and each of their refreshes checks membership.
    by_flow: HashMap<FlowId, HashSet<String>>,
}

const SHARDS: usize = 32;

impl Default for MemoryLocation {
    fn default() -> Self {
        MemoryLocation {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
        }
    }
}

impl MemoryLocation {
    pub fn new() -> Self {
        Self::default()
    }
    fn shard(&self, aor: &str) -> &RwLock<Shard> {
        // FNV-1a: cheap and stable; shard choice needs no DoS resistance since every
        // shard is a full hash map of its own.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in aor.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        &self.shards[(h as usize) % self.shards.len()]
    }
}

impl Shard {
    fn index_flow(&mut self, flow: Option<FlowId>, aor: &str) {
        if let Some(flow) = flow {
            let aors = self.by_flow.entry(flow).or_default();
            if !aors.contains(aor) {
                aors.insert(aor.to_owned());
            }
        }
    }
    fn unindex_flow(&mut self, flow: Option<FlowId>, aor: &str) {
        let Some(flow) = flow else { return };
        let still_used = self
            .by_aor
            .get(aor)
            .is_some_and(|bs| bs.iter().any(|b| b.source.flow == Some(flow)));
        if still_used {
            return;
        }
        if let Some(aors) = self.by_flow.get_mut(&flow) {
            aors.remove(aor);
            if aors.is_empty() {
                self.by_flow.remove(&flow);
            }
        }
    }
}

#[async_trait]
impl LocationService for MemoryLocation {
    async fn lookup(&self, aor: &str) -> Vec<Arc<Binding>> {
        let now = Instant::now();
        let shard = self.shard(aor).read();
        shard
            .by_aor
            .get(aor)
            .map(|bs| bs.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default()
    }

    async fn apply(&self, aor: &str, changes: Vec<Change>) -> Vec<Arc<Binding>> {
        let now = Instant::now();
        let mut shard = self.shard(aor).write();
        let mut touched_flows: Vec<Option<FlowId>> = Vec::new();
        {
            let bindings = shard.by_aor.entry(aor.to_owned()).or_default();
            for change in changes {
                match change {
                    Change::Upsert(b) => {
                        if let Some(old) = bindings.iter_mut().find(|o| o.key == b.key) {
                            touched_flows.push(old.source.flow);
                            *old = Arc::from(b);
                        } else {
                            bindings.push(Arc::from(b));
                        }
                    }
                    Change::Remove(key) => {
                        bindings.retain(|o| {
                            let keep = o.key != key;
                            if !keep {
                                touched_flows.push(o.source.flow);
                            }
                            keep
                        });
                    }
                    Change::RemoveAll => {
                        touched_flows.extend(bindings.iter().map(|o| o.source.flow));
                        bindings.clear();
                    }
                }
            }
            bindings.retain(|b| b.expires_at > now);
        }
        let after: Vec<Arc<Binding>> = shard.by_aor.get(aor).cloned().unwrap_or_default();
        if after.is_empty() {
            shard.by_aor.remove(aor);
        }
        for flow in touched_flows {
            shard.unindex_flow(flow, aor);
        }
        for b in &after {
            shard.index_flow(b.source.flow, aor);
        }
        after
    }

    async fn remove_aor(&self, aor: &str) -> usize {
        let mut shard = self.shard(aor).write();
        let removed = shard.by_aor.remove(aor).unwrap_or_default();
        for b in &removed {
            shard.unindex_flow(b.source.flow, aor);
        }
        removed.len()
    }

    async fn remove_flow(&self, flow: FlowId) -> Vec<String> {
        let mut affected = Vec::new();
        for lock in &self.shards {
            let mut shard = lock.write();
            let Some(aors) = shard.by_flow.remove(&flow) else {
                continue;
            };
            for aor in aors {
                if let Some(bs) = shard.by_aor.get_mut(&aor) {
                    bs.retain(|b| b.source.flow != Some(flow));
                    if bs.is_empty() {
                        shard.by_aor.remove(&aor);
                    }
                }
                affected.push(aor);
            }
        }
        affected
    }

    async fn expire(&self, now: Instant) -> Vec<(String, Arc<Binding>)> {
        let mut gone = Vec::new();
        for lock in &self.shards {
            let mut shard = lock.write();
            let mut emptied = Vec::new();
            let mut flows = Vec::new();
            for (aor, bs) in shard.by_aor.iter_mut() {
                bs.retain(|b| {
                    let live = b.expires_at > now;
                    if !live {
                        flows.push((b.source.flow, aor.clone()));
                        gone.push((aor.clone(), Arc::clone(b)));
                    }
                    live
                });
                if bs.is_empty() {
                    emptied.push(aor.clone());
                }
            }
            for aor in emptied {
                shard.by_aor.remove(&aor);
            }
            for (flow, aor) in flows {
                shard.unindex_flow(flow, &aor);
            }
        }
        gone
    }

    async fn counts(&self) -> (usize, usize) {
        let (mut bindings, mut aors) = (0, 0);
        for lock in &self.shards {
            let shard = lock.read();
            aors += shard.by_aor.len();
            bindings += shard.by_aor.values().map(Vec::len).sum::<usize>();
        }
        (bindings, aors)
    }
}
