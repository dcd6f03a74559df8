//! The table of open TCP/TLS connections ("flows"), sharded to keep lock contention low
//! when many connections open and close at once.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};

use crate::event::FlowId;
use crate::transport::Transport;

const SHARDS: usize = 16;

/// What the rest of the crate needs to reach a connection's task.
#[derive(Debug)]
pub(crate) struct FlowEntry {
    pub transport: Transport,
    pub remote: SocketAddr,
    /// The connection's bounded write queue.
    pub writer: mpsc::Sender<Bytes>,
    /// Set to `true` to make the connection's task close it.
    pub closer: watch::Sender<bool>,
}

/// All open flows, by id and by (transport, remote address).
#[derive(Debug)]
pub(crate) struct FlowTable {
    shards: Vec<RwLock<HashMap<FlowId, FlowEntry>>>,
    by_remote: Mutex<HashMap<(Transport, SocketAddr), FlowId>>,
    len: AtomicUsize,
    next_id: AtomicU64,
}

/// Why [`FlowTable::queue`] did not queue.
pub(crate) enum Queued {
    /// The writer queue is full: here are the writer and the data to wait with.
    Full(mpsc::Sender<Bytes>, Bytes),
    /// No such flow (any more).
    Gone,
}

impl FlowTable {
    pub(crate) fn new() -> Self {
        FlowTable {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            by_remote: Mutex::new(HashMap::new()),
            len: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// A fresh id; ids are never reused (a u64 does not wrap in a process's lifetime).
    pub(crate) fn allocate_id(&self) -> FlowId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn shard(&self, id: FlowId) -> &RwLock<HashMap<FlowId, FlowEntry>> {
        // Ids are sequential, so the low bits spread them evenly; the modulo keeps the
        // index below SHARDS, the length of `shards`.
        &self.shards[(id % SHARDS as u64) as usize]
    }

    pub(crate) fn insert(&self, id: FlowId, entry: FlowEntry) {
        // The newest connection to an address is the one to reuse for sends to it.
        self.by_remote
            .lock()
            .insert((entry.transport, entry.remote), id);
        if self.shard(id).write().insert(id, entry).is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn remove(&self, id: FlowId) {
        let Some(entry) = self.shard(id).write().remove(&id) else {
            return;
        };
        self.len.fetch_sub(1, Ordering::Relaxed);
        let mut by_remote = self.by_remote.lock();
        let key = (entry.transport, entry.remote);
        if by_remote.get(&key) == Some(&id) {
            by_remote.remove(&key);
        }
    }

    pub(crate) fn contains(&self, id: FlowId) -> bool {
        self.shard(id).read().contains_key(&id)
    }

    pub(crate) fn remote(&self, id: FlowId) -> Option<SocketAddr> {
        self.shard(id).read().get(&id).map(|entry| entry.remote)
    }

    /// An open flow to `remote` over `transport`, if any.
    pub(crate) fn find(&self, transport: Transport, remote: SocketAddr) -> Option<FlowId> {
        self.by_remote.lock().get(&(transport, remote)).copied()
    }

    /// Queues `data` on the flow's writer without waiting. When the queue is full the
    /// data comes back with the writer, so the caller can wait outside the lock.
    pub(crate) fn queue(&self, id: FlowId, data: Bytes) -> Result<(), Queued> {
        let shard = self.shard(id).read();
        let entry = shard.get(&id).ok_or(Queued::Gone)?;
        entry.writer.try_send(data).map_err(|e| match e {
            mpsc::error::TrySendError::Full(data) => Queued::Full(entry.writer.clone(), data),
            mpsc::error::TrySendError::Closed(_) => Queued::Gone,
        })
    }

    /// Asks the flow's task to close it; the flow leaves the table when the task ends.
    pub(crate) fn close(&self, id: FlowId) {
        if let Some(entry) = self.shard(id).read().get(&id) {
            entry.closer.send_replace(true);
        }
    }

    /// Asks every flow whose peer has address `ip` to close; returns how many. Walks
    /// the whole table, which is fine for what calls it: a ban, rare by nature.
    pub(crate) fn close_from(&self, ip: IpAddr) -> usize {
        let ip = ip.to_canonical();
        let mut asked = 0;
        for shard in &self.shards {
            for entry in shard.read().values() {
                if entry.remote.ip().to_canonical() == ip {
                    entry.closer.send_replace(true);
                    asked += 1;
                }
            }
        }
        asked
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(remote: &str) -> (FlowEntry, mpsc::Receiver<Bytes>, watch::Receiver<bool>) {
        let (writer, rx) = mpsc::channel(1);
        let (closer, closed) = watch::channel(false);
        let entry = FlowEntry {
            transport: Transport::Tcp,
            remote: remote.parse().unwrap(),
            writer,
            closer,
        };
        (entry, rx, closed)
    }

    #[test]
    fn close_from_asks_every_flow_of_that_address_only() {
        let table = FlowTable::new();
        let mut closers = Vec::new();
        for remote in ["192.0.2.1:5060", "192.0.2.1:5070", "192.0.2.2:5060"] {
            let (e, _rx, closed) = entry(remote);
            table.insert(table.allocate_id(), e);
            closers.push(closed);
        }
        let (mut mapped, _rx, mapped_closed) = entry("192.0.2.1:5080");
        mapped.remote = "[::ffff:192.0.2.1]:5080".parse().unwrap();
        table.insert(table.allocate_id(), mapped);
        closers.push(mapped_closed);

        assert_eq!(table.close_from("192.0.2.1".parse().unwrap()), 3);
        let asked: Vec<bool> = closers.iter().map(|c| *c.borrow()).collect();
        assert_eq!(asked, [true, true, false, true]);
    }

    #[test]
    fn ids_are_unique_and_lookups_follow_inserts_and_removals() {
        let table = FlowTable::new();
        let first = table.allocate_id();
        let second = table.allocate_id();
        assert_ne!(first, second);
        let (e1, mut rx1, _c1) = entry("192.0.2.1:5060");
        let (e2, _rx2, c2) = entry("192.0.2.1:5060");
        table.insert(first, e1);
        assert_eq!(
            table.find(Transport::Tcp, "192.0.2.1:5060".parse().unwrap()),
            Some(first)
        );
        table.insert(second, e2);
        assert_eq!(table.len(), 2);
        // The newest flow to an address wins; removing the older one keeps it.
        table.remove(first);
        assert_eq!(
            table.find(Transport::Tcp, "192.0.2.1:5060".parse().unwrap()),
            Some(second)
        );
        assert!(
            table
                .find(Transport::Tls, "192.0.2.1:5060".parse().unwrap())
                .is_none()
        );
        assert!(!table.contains(first));
        assert!(matches!(
            table.queue(first, Bytes::new()),
            Err(Queued::Gone)
        ));
        assert!(rx1.try_recv().is_err());

        assert!(table.queue(second, Bytes::from_static(b"x")).is_ok());
        assert!(matches!(
            table.queue(second, Bytes::from_static(b"y")),
            Err(Queued::Full(_, data)) if data == Bytes::from_static(b"y")
        ));
        table.close(second);
        assert!(*c2.borrow());
        table.remove(second);
        assert_eq!(table.len(), 0);
        assert!(
            table
                .find(Transport::Tcp, "192.0.2.1:5060".parse().unwrap())
                .is_none()
        );
    }
}
