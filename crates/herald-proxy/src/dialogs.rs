//! The dialogs we record-routed (IM sessions set up by INVITE), so that when one
//! endpoint's connection goes away the other is told with a BYE instead of keeping a
//! session with nobody (RFC 5626 makes the flow the endpoint's lifeline).
use crate::hop::Hop;
use herald_transport::FlowId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One side of a dialog as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Side {
    pub hop: Hop,
    /// Its Contact URI (the remote target for requests to it).
    pub contact: String,
    /// Its own From/To header value as it sends it (URI and tag).
    pub identity: String,
    /// Its dialog tag.
    pub tag: String,
    /// The highest CSeq it used, if it sent any request we saw.
    pub cseq: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Dialog {
    pub call_id: String,
    pub caller: Side,
    pub callee: Side,
    last_activity: Instant,
}

/// Which side sent an in-dialog request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    FromCaller,
    FromCallee,
}

type DialogId = (String, String, String);

#[derive(Default)]
pub struct DialogTable {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    dialogs: HashMap<DialogId, Dialog>,
    by_flow: HashMap<FlowId, Vec<DialogId>>,
}

fn id(call_id: &str, caller_tag: &str, callee_tag: &str) -> DialogId {
    (
        call_id.to_owned(),
        caller_tag.to_owned(),
        callee_tag.to_owned(),
    )
}

impl DialogTable {
    /// A 2xx to a record-routed INVITE went upstream: the dialog exists.
    pub fn confirmed(&self, call_id: String, caller: Side, callee: Side) {
        let key = id(&call_id, &caller.tag, &callee.tag);
        let mut inner = self.inner.lock();
        for flow in [caller.hop.flow, callee.hop.flow].into_iter().flatten() {
            let ids = inner.by_flow.entry(flow).or_default();
            if !ids.contains(&key) {
                ids.push(key.clone());
            }
        }
        inner.dialogs.insert(
            key,
            Dialog {
                call_id,
                caller,
                callee,
                last_activity: Instant::now(),
            },
        );
    }

    /// An in-dialog request passed: remembers its CSeq for the side that sent it and
    /// returns the direction. `from_tag`/`to_tag` are the request's.
    pub fn on_request(
        &self,
        call_id: &str,
        from_tag: &str,
        to_tag: &str,
        cseq: u32,
        ends_dialog: bool,
    ) -> Option<Direction> {
        let mut inner = self.inner.lock();
        let (key, direction) = if inner.dialogs.contains_key(&id(call_id, from_tag, to_tag)) {
            (id(call_id, from_tag, to_tag), Direction::FromCaller)
        } else if inner.dialogs.contains_key(&id(call_id, to_tag, from_tag)) {
            (id(call_id, to_tag, from_tag), Direction::FromCallee)
        } else {
            return None;
        };
        if ends_dialog {
            inner.remove(&key);
            return Some(direction);
        }
        if let Some(d) = inner.dialogs.get_mut(&key) {
            let side = match direction {
                Direction::FromCaller => &mut d.caller,
                Direction::FromCallee => &mut d.callee,
            };
            side.cseq = Some(side.cseq.map_or(cseq, |c| c.max(cseq)));
            d.last_activity = Instant::now();
        }
        Some(direction)
    }

    /// Removes and returns every dialog with a side on `flow`, with the side that is
    /// gone.
    pub fn take_flow(&self, flow: FlowId) -> Vec<(Dialog, Direction)> {
        let mut inner = self.inner.lock();
        let Some(ids) = inner.by_flow.remove(&flow) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for key in ids {
            if let Some(d) = inner.remove(&key) {
                let gone = if d.caller.hop.flow == Some(flow) {
                    Direction::FromCaller
                } else {
                    Direction::FromCallee
                };
                out.push((d, gone));
            }
        }
        out
    }

    /// Forgets dialogs idle for longer than `idle` (a UDP endpoint that vanished
    /// without BYE). Returns how many.
    pub fn sweep(&self, idle: Duration) -> usize {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        let stale: Vec<DialogId> = inner
            .dialogs
            .iter()
            .filter(|(_, d)| now.duration_since(d.last_activity) > idle)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &stale {
            inner.remove(key);
        }
        stale.len()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().dialogs.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn remove(&mut self, key: &DialogId) -> Option<Dialog> {
        let d = self.dialogs.remove(key)?;
        for flow in [d.caller.hop.flow, d.callee.hop.flow].into_iter().flatten() {
            if let Some(ids) = self.by_flow.get_mut(&flow) {
                ids.retain(|k| k != key);
                if ids.is_empty() {
                    self.by_flow.remove(&flow);
                }
            }
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_transport::Transport;

    fn side(tag: &str, flow: Option<FlowId>) -> Side {
        Side {
            hop: Hop {
                transport: if flow.is_some() {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                remote: "127.0.0.1:5070".parse().unwrap(),
                flow,
            },
            contact: "sip:x@127.0.0.1:5070".into(),
            identity: format!("<sip:x@example.com>;tag={tag}"),
            tag: tag.into(),
            cseq: None,
        }
    }

    #[test]
    fn requests_are_attributed_to_their_side_and_bye_ends_the_dialog() {
        let t = DialogTable::default();
        t.confirmed("c1".into(), side("a", Some(1)), side("b", None));
        assert_eq!(
            t.on_request("c1", "a", "b", 2, false),
            Some(Direction::FromCaller)
        );
        assert_eq!(
            t.on_request("c1", "b", "a", 7, false),
            Some(Direction::FromCallee)
        );
        assert_eq!(t.on_request("c1", "x", "a", 7, false), None);
        assert_eq!(
            t.on_request("c1", "b", "a", 8, true),
            Some(Direction::FromCallee)
        );
        assert!(t.is_empty());
        assert!(t.take_flow(1).is_empty());
    }

    #[test]
    fn a_closed_flow_hands_back_its_dialogs_once() {
        let t = DialogTable::default();
        t.confirmed("c1".into(), side("a", Some(1)), side("b", Some(2)));
        t.confirmed("c2".into(), side("c", Some(3)), side("d", Some(1)));
        t.on_request("c1", "a", "b", 5, false);
        let mut gone = t.take_flow(1);
        gone.sort_by(|x, y| x.0.call_id.cmp(&y.0.call_id));
        assert_eq!(gone.len(), 2);
        assert_eq!(gone[0].1, Direction::FromCaller);
        assert_eq!(gone[0].0.caller.cseq, Some(5));
        assert_eq!(gone[1].1, Direction::FromCallee);
        assert!(t.is_empty());
        assert!(t.take_flow(2).is_empty());
    }
}
