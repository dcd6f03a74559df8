//! Which waiting request a response belongs to. Many users share one connection, so
//! responses are matched on Call-ID and CSeq number (each request this tool sends has
//! its own pair), not on arrival order.

use std::collections::HashMap;

use herald_sip::Response;
use tokio::sync::oneshot;

/// The identity of one request on a connection.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RouteKey {
    /// Call-ID of the request.
    pub call_id: String,
    /// CSeq number of the request.
    pub cseq: u32,
}

/// What became of a response handed to [`Routes::deliver`].
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A final response given to its waiting request.
    Delivered,
    /// A 1xx: the request keeps waiting for its final response.
    Provisional,
    /// No request waits for it (unknown, already answered or timed out), or it lacks a
    /// Call-ID or a readable CSeq.
    Unrouted,
}

/// Requests waiting for their final response.
#[derive(Debug, Default)]
pub struct Routes {
    waiting: HashMap<RouteKey, oneshot::Sender<Response>>,
}

impl Routes {
    /// Registers `key`; the final response arrives on the returned receiver. A second
    /// registration of the same key replaces the first (whose receiver then fails).
    pub fn wait(&mut self, key: RouteKey) -> oneshot::Receiver<Response> {
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(key, tx);
        rx
    }

    /// Routes `response` to the request it answers.
    pub fn deliver(&mut self, response: Response) -> Delivery {
        let Some(key) = key_of(&response) else {
            return Delivery::Unrouted;
        };
        if response.status < 200 {
            return if self.waiting.contains_key(&key) {
                Delivery::Provisional
            } else {
                Delivery::Unrouted
            };
        }
        match self.waiting.remove(&key) {
            // A send error means the requester stopped waiting (timed out) just now.
            Some(tx) => match tx.send(response) {
                Ok(()) => Delivery::Delivered,
                Err(_) => Delivery::Unrouted,
            },
            None => Delivery::Unrouted,
        }
    }

    /// Stops waiting for `key` (the request timed out or could not be sent).
    pub fn forget(&mut self, key: &RouteKey) {
        self.waiting.remove(key);
    }

    /// Fails every waiting request (the connection closed).
    pub fn fail_all(&mut self) {
        self.waiting.clear();
    }

    /// Requests still waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }
}

fn key_of(response: &Response) -> Option<RouteKey> {
    let call_id = response
        .headers
        .get(&herald_sip::HeaderName::CallId)?
        .to_string();
    let cseq = response.cseq().ok()?.seq;
    Some(RouteKey { call_id, cseq })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use herald_sip::{Message, message::ParseLimits};

    fn response(status: u16, call_id: &str, cseq: u32) -> Response {
        let text = format!(
            "SIP/2.0 {status} X\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKa\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} PUBLISH\r\nContent-Length: 0\r\n\r\n"
        );
        match Message::parse(Bytes::from(text), &ParseLimits::default()) {
            Ok(Message::Response(r)) => r,
            other => panic!("test response did not parse: {other:?}"),
        }
    }

    fn key(call_id: &str, cseq: u32) -> RouteKey {
        RouteKey {
            call_id: call_id.into(),
            cseq,
        }
    }

    #[test]
    fn routes_by_call_id_and_cseq() {
        let mut routes = Routes::default();
        let mut first = routes.wait(key("c1", 1));
        let mut retry = routes.wait(key("c1", 2));
        let mut other = routes.wait(key("c2", 1));
        assert_eq!(routes.deliver(response(401, "c1", 1)), Delivery::Delivered);
        assert_eq!(routes.deliver(response(200, "c2", 1)), Delivery::Delivered);
        assert_eq!(routes.deliver(response(200, "c1", 2)), Delivery::Delivered);
        assert_eq!(first.try_recv().map(|r| r.status), Ok(401));
        assert_eq!(retry.try_recv().map(|r| r.status), Ok(200));
        assert_eq!(other.try_recv().map(|r| r.status), Ok(200));
        assert_eq!(routes.len(), 0);
    }

    #[test]
    fn provisional_keeps_waiting_and_duplicates_are_unrouted() {
        let mut routes = Routes::default();
        let mut rx = routes.wait(key("c", 7));
        assert_eq!(routes.deliver(response(100, "c", 7)), Delivery::Provisional);
        assert!(rx.try_recv().is_err());
        assert_eq!(routes.deliver(response(200, "c", 7)), Delivery::Delivered);
        assert_eq!(routes.deliver(response(200, "c", 7)), Delivery::Unrouted);
        assert_eq!(routes.deliver(response(100, "c", 7)), Delivery::Unrouted);
        assert_eq!(routes.deliver(response(200, "c", 8)), Delivery::Unrouted);
        assert_eq!(rx.try_recv().map(|r| r.status), Ok(200));
    }

    #[test]
    fn forgotten_and_abandoned_requests_are_unrouted() {
        let mut routes = Routes::default();
        let _rx = routes.wait(key("gone", 1));
        routes.forget(&key("gone", 1));
        assert_eq!(routes.deliver(response(200, "gone", 1)), Delivery::Unrouted);
        let rx = routes.wait(key("dropped", 1));
        drop(rx);
        assert_eq!(
            routes.deliver(response(200, "dropped", 1)),
            Delivery::Unrouted
        );
        let mut failed = routes.wait(key("closed", 1));
        routes.fail_all();
        assert!(failed.try_recv().is_err());
        assert_eq!(routes.len(), 0);
    }
}
