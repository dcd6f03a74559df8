//! Publications (RFC 3903): entity tags, refresh, modify, remove and expiry, one
//! publication per endpoint of a user. Pure state, no I/O: the service feeds it
//! parsed requests and the clock.
use herald_pidf::Publication;
use herald_proxy::Hop;
use herald_transport::FlowId;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The endpoint a publication belongs to: the flow (or UDP address) that sent it, and
/// its `+sip.instance` when the PUBLISH named one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub hop: Hop,
    pub instance: Option<String>,
}

impl Endpoint {
    pub fn same(&self, other: &Endpoint) -> bool {
        match (&self.instance, &other.instance) {
            (Some(a), Some(b)) => a == b,
            _ => self.hop == other.hop,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Pub {
    pub etag: String,
    pub endpoint: Endpoint,
    pub expires_at: Instant,
    /// A sequence number that only goes up: the most recent publication wins ties.
    pub published_at: u64,
    pub doc: Arc<Publication>,
}

/// What a PUBLISH asks for (RFC 3903 §4.1).
#[derive(Debug)]
pub enum PublishOp {
    /// No SIP-If-Match, a body: a new publication (replacing the endpoint's previous one).
    Initial(Publication),
    /// SIP-If-Match, no body: extend it.
    Refresh { etag: String },
    /// SIP-If-Match and a body: replace its state.
    Modify { etag: String, doc: Publication },
    /// SIP-If-Match and Expires: 0.
    Remove { etag: String },
}

/// The publication a SIP-If-Match named does not exist (any more) for this user: 412.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownEtag;

#[derive(Default)]
pub struct Publications {
    by_aor: HashMap<String, Vec<Pub>>,
    /// etag -> aor.
    by_etag: HashMap<String, String>,
    expiry: BTreeSet<(Instant, String)>,
    seq: u64,
    /// Endpoints that removed their publication (Expires: 0) and have not published
    /// since: clients do that when they sign out, just before un-registering, so such
    /// an endpoint counts as gone rather than as "registered, never published"
    /// (which would show the user Available for a moment).
    withdrawn: HashMap<String, Vec<Endpoint>>,
}

fn new_etag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl Publications {
    /// The live publications of `aor`.
    pub fn of(&self, aor: &str) -> &[Pub] {
        self.by_aor.get(aor).map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.by_etag.len()
    }

    /// Applies a PUBLISH of `aor` from `endpoint`. Returns the new entity tag (None
    /// after a removal).
    pub fn apply(
        &mut self,
        aor: &str,
        endpoint: Endpoint,
        op: PublishOp,
        lifetime: Duration,
        now: Instant,
    ) -> Result<Option<String>, UnknownEtag> {
        self.seq += 1;
        let seq = self.seq;
        let expires_at = now + lifetime;
        let (old, doc) = match op {
            PublishOp::Initial(doc) => {
                // One publication per endpoint: a new one replaces what it published before.
                let stale: Vec<String> = self
                    .of(aor)
                    .iter()
                    .filter(|p| p.endpoint.same(&endpoint))
                    .map(|p| p.etag.clone())
                    .collect();
                for etag in stale {
                    self.take(aor, &etag);
                }
                (None, Arc::new(doc))
            }
            PublishOp::Refresh { etag } => {
                let old = self.take(aor, &etag).ok_or(UnknownEtag)?;
                let doc = old.doc.clone();
                (Some(old), doc)
            }
            PublishOp::Modify { etag, doc } => {
                let old = self.take(aor, &etag).ok_or(UnknownEtag)?;
                (Some(old), Arc::new(doc))
            }
            PublishOp::Remove { etag } => {
                let gone = self.take(aor, &etag).ok_or(UnknownEtag)?;
                self.withdrawn
                    .entry(aor.to_owned())
                    .or_default()
                    .push(gone.endpoint);
                return Ok(None);
            }
        };
        if let Some(list) = self.withdrawn.get_mut(aor) {
            list.retain(|w| !w.same(&endpoint));
            if list.is_empty() {
                self.withdrawn.remove(aor);
            }
        }
        let etag = new_etag();
        let published_at = match &old {
            // A refresh changes nothing watchers see: it keeps its place in time.
            Some(o) if Arc::ptr_eq(&o.doc, &doc) => o.published_at,
            _ => seq,
        };
        let endpoint = match old {
            // A client that reconnected keeps its publication on its new connection.
            Some(o) if o.endpoint.instance.is_some() => o.endpoint,
            _ => endpoint,
        };
        self.insert(
            aor,
            Pub {
                etag: etag.clone(),
                endpoint,
                expires_at,
                published_at,
                doc,
            },
        );
        Ok(Some(etag))
    }

    /// Endpoints of `aor` that withdrew their publication.
    pub fn withdrawn(&self, aor: &str) -> &[Endpoint] {
        self.withdrawn.get(aor).map_or(&[], Vec::as_slice)
    }

    /// Forgets the withdrawals of `aor` (it has no endpoint left to remember them for).
    pub fn forget_withdrawn(&mut self, aor: &str) {
        self.withdrawn.remove(aor);
    }

    fn insert(&mut self, aor: &str, p: Pub) {
        self.by_etag.insert(p.etag.clone(), aor.to_owned());
        self.expiry.insert((p.expires_at, p.etag.clone()));
        self.by_aor.entry(aor.to_owned()).or_default().push(p);
    }

    /// Removes the publication `etag` if it belongs to `aor`.
    fn take(&mut self, aor: &str, etag: &str) -> Option<Pub> {
        if self.by_etag.get(etag).map(String::as_str) != Some(aor) {
            return None;
        }
        self.by_etag.remove(etag);
        let list = self.by_aor.get_mut(aor)?;
        let index = list.iter().position(|p| p.etag == etag)?;
        let p = list.swap_remove(index);
        if list.is_empty() {
            self.by_aor.remove(aor);
        }
        self.expiry.remove(&(p.expires_at, p.etag.clone()));
        Some(p)
    }

    /// Drops publications whose time is up; returns the users whose state changed.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut changed = Vec::new();
        while let Some((at, etag)) = self.expiry.first().cloned() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            if let Some(aor) = self.by_etag.get(&etag).cloned() {
                self.take(&aor, &etag);
                if !changed.contains(&aor) {
                    changed.push(aor);
                }
            }
        }
        changed
    }

    /// Drops the publications sent over a connection that closed (the endpoint is
    /// gone); returns the users affected.
    pub fn remove_flow(&mut self, flow: FlowId) -> Vec<String> {
        let gone: Vec<(String, String)> = self
            .by_aor
            .iter()
            .flat_map(|(aor, pubs)| {
                pubs.iter()
                    .filter(|p| p.endpoint.hop.flow == Some(flow))
                    .map(move |p| (aor.clone(), p.etag.clone()))
            })
            .collect();
        let mut changed = Vec::new();
        for (aor, etag) in gone {
            self.take(&aor, &etag);
            if !changed.contains(&aor) {
                changed.push(aor);
            }
        }
        changed
    }

    /// Drops every publication of `aor`; whether there were any.
    pub fn remove_aor(&mut self, aor: &str) -> bool {
        self.withdrawn.remove(aor);
        let etags: Vec<String> = self.of(aor).iter().map(|p| p.etag.clone()).collect();
        for etag in &etags {
            self.take(aor, etag);
        }
        !etags.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_pidf::{Limits, parse_pidf};
    use herald_transport::Transport;

    fn doc(note: &str) -> Publication {
        let body = format!(
            "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@example.com\">\
             <tuple id=\"t\"><status><basic>open</basic></status><note>{note}</note></tuple></presence>"
        );
        parse_pidf(body.as_bytes(), &Limits::default()).unwrap()
    }

    fn endpoint(port: u16, flow: Option<FlowId>) -> Endpoint {
        Endpoint {
            hop: Hop {
                transport: if flow.is_some() {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                remote: format!("10.0.0.1:{port}").parse().unwrap(),
                flow,
            },
            instance: None,
        }
    }

    const A: &str = "alice@example.com";
    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn etag_rules_refresh_modify_remove_and_unknown_tags() {
        let mut p = Publications::default();
        let now = Instant::now();
        let e1 = p
            .apply(
                A,
                endpoint(1, None),
                PublishOp::Initial(doc("a")),
                HOUR,
                now,
            )
            .unwrap()
            .unwrap();
        assert_eq!(p.of(A).len(), 1);

        // Refresh: a new tag, the old one is dead, the document unchanged.
        let e2 = p
            .apply(
                A,
                endpoint(1, None),
                PublishOp::Refresh { etag: e1.clone() },
                HOUR,
                now,
            )
            .unwrap()
            .unwrap();
        assert_ne!(e1, e2);
        assert_eq!(
            p.apply(
                A,
                endpoint(1, None),
                PublishOp::Refresh { etag: e1 },
                HOUR,
                now
            ),
            Err(UnknownEtag)
        );
        assert_eq!(p.of(A)[0].doc.tuples[0].notes[0].text, "a");

        // Modify replaces the document.
        let e3 = p
            .apply(
                A,
                endpoint(1, None),
                PublishOp::Modify {
                    etag: e2,
                    doc: doc("b"),
                },
                HOUR,
                now,
            )
            .unwrap()
            .unwrap();
        assert_eq!(p.of(A)[0].doc.tuples[0].notes[0].text, "b");

        // Another user's tag is unknown to this user.
        assert_eq!(
            p.apply(
                "bob@example.com",
                endpoint(1, None),
                PublishOp::Remove { etag: e3.clone() },
                HOUR,
                now
            ),
            Err(UnknownEtag)
        );
        assert_eq!(
            p.apply(
                A,
                endpoint(1, None),
                PublishOp::Remove { etag: e3 },
                HOUR,
                now
            ),
            Ok(None)
        );
        assert!(p.of(A).is_empty());
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn one_publication_per_endpoint_and_several_endpoints_per_user() {
        let mut p = Publications::default();
        let now = Instant::now();
        p.apply(
            A,
            endpoint(1, None),
            PublishOp::Initial(doc("pc")),
            HOUR,
            now,
        )
        .unwrap();
        p.apply(
            A,
            endpoint(2, Some(9)),
            PublishOp::Initial(doc("phone")),
            HOUR,
            now,
        )
        .unwrap();
        assert_eq!(p.of(A).len(), 2);
        // The PC publishes afresh (it restarted): its old publication goes.
        p.apply(
            A,
            endpoint(1, None),
            PublishOp::Initial(doc("pc2")),
            HOUR,
            now,
        )
        .unwrap();
        assert_eq!(p.of(A).len(), 2);
        assert_eq!(p.remove_flow(9), vec![A.to_owned()]);
        assert_eq!(p.of(A).len(), 1);
        assert_eq!(p.of(A)[0].doc.tuples[0].notes[0].text, "pc2");
    }

    #[test]
    fn publications_expire_and_refresh_extends_them() {
        let mut p = Publications::default();
        let now = Instant::now();
        let e = p
            .apply(
                A,
                endpoint(1, None),
                PublishOp::Initial(doc("a")),
                Duration::from_secs(60),
                now,
            )
            .unwrap()
            .unwrap();
        p.apply(
            A,
            endpoint(2, None),
            PublishOp::Initial(doc("b")),
            Duration::from_secs(60),
            now,
        )
        .unwrap();
        let later = now + Duration::from_secs(30);
        p.apply(
            A,
            endpoint(1, None),
            PublishOp::Refresh { etag: e },
            Duration::from_secs(60),
            later,
        )
        .unwrap();
        assert!(p.expire(now + Duration::from_secs(59)).is_empty());
        assert_eq!(p.expire(now + Duration::from_secs(61)), vec![A.to_owned()]);
        assert_eq!(p.of(A).len(), 1, "the refreshed one lives on");
        assert_eq!(p.expire(now + Duration::from_secs(91)), vec![A.to_owned()]);
        assert!(p.of(A).is_empty());
    }
}
