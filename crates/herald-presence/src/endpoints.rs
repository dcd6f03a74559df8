//! A user's endpoints for aggregation: every registered binding (with the publication
//! it made, if any) and every publication from an endpoint that did not register.
use crate::publications::{Endpoint, Pub};
use herald_pidf::{Aggregate, EndpointState, aggregate};
use herald_registrar::{Binding, BindingKey};
use std::borrow::Borrow;

fn instance_of(b: &Binding) -> Option<&str> {
    match &b.key {
        BindingKey::Instance { instance, .. } => Some(instance),
        BindingKey::Contact(_) => None,
    }
}

/// Whether `p` was published by the endpoint that registered `b`: the same
/// `+sip.instance`, or the same flow (UDP: the same address).
fn published_by(p: &Pub, b: &Binding) -> bool {
    registered_by(&p.endpoint, b)
}

/// Whether `b` was registered by the endpoint `e`.
fn registered_by(e: &Endpoint, b: &Binding) -> bool {
    match (&e.instance, instance_of(b)) {
        (Some(a), Some(b_inst)) => a == b_inst,
        _ => e.hop.is(&b.source),
    }
}

/// The user's aggregated presence from their bindings and publications. A binding
/// whose endpoint withdrew its publication (and has none now) does not count.
pub fn aggregate_user<B: Borrow<Binding>>(
    bindings: &[B],
    pubs: &[Pub],
    withdrawn: &[Endpoint],
) -> Aggregate {
    let mut used = vec![false; pubs.len()];
    let mut states = Vec::with_capacity(bindings.len() + pubs.len());
    for b in bindings.iter().map(Borrow::borrow) {
        let found = pubs
            .iter()
            .enumerate()
            .filter(|(i, p)| !used.get(*i).copied().unwrap_or(true) && published_by(p, b))
            .max_by_key(|(_, p)| p.published_at);
        match found {
            Some((i, p)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                states.push(EndpointState {
                    publication: Some(&p.doc),
                    published_at: p.published_at,
                });
            }
            None if withdrawn.iter().any(|w| registered_by(w, b)) => {}
            None => states.push(EndpointState {
                publication: None,
                published_at: 0,
            }),
        }
    }
    for (p, _) in pubs.iter().zip(&used).filter(|(_, u)| !**u) {
        states.push(EndpointState {
            publication: Some(&p.doc),
            published_at: p.published_at,
        });
    }
    aggregate(&states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publications::Endpoint;
    use herald_pidf::{Availability, Limits, parse_pidf};
    use herald_proxy::Hop;
    use herald_sip::{NameAddr, SipStr};
    use herald_transport::{Source, Transport};
    use std::sync::Arc;
    use std::time::Instant;

    fn source(port: u16, flow: Option<u64>) -> Source {
        Source {
            transport: if flow.is_some() {
                Transport::Tcp
            } else {
                Transport::Udp
            },
            local: "127.0.0.1:5060".parse().unwrap(),
            remote: format!("10.0.0.1:{port}").parse().unwrap(),
            flow,
        }
    }

    fn binding(port: u16, flow: Option<u64>) -> Binding {
        let contact = format!("<sip:alice@10.0.0.1:{port}>");
        Binding {
            key: BindingKey::Contact(contact.clone()),
            contact: NameAddr::parse(&SipStr::from(contact)).unwrap(),
            call_id: "c".into(),
            cseq: 1,
            expires_at: Instant::now() + std::time::Duration::from_secs(60),
            source: source(port, flow),
            user_agent: None,
        }
    }

    fn publication(port: u16, flow: Option<u64>, availability: u32, at: u64) -> Pub {
        let body = format!(
            "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
             xmlns:ha=\"urn:herald:params:xml:ns:pidf:availability\" entity=\"sip:alice@example.com\">\
             <tuple id=\"t\"><status><basic>open</basic></status></tuple>\
             <dm:person id=\"p\"><ha:availability>{availability}</ha:availability></dm:person></presence>"
        );
        Pub {
            etag: format!("e{port}"),
            endpoint: Endpoint {
                hop: Hop::from_source(&source(port, flow)),
                instance: None,
            },
            expires_at: Instant::now(),
            published_at: at,
            doc: Arc::new(parse_pidf(body.as_bytes(), &Limits::default()).unwrap()),
        }
    }

    fn number(bindings: &[Binding], pubs: &[Pub]) -> u32 {
        aggregate_user(bindings, pubs, &[]).availability.value()
    }

    #[test]
    fn an_endpoint_that_withdrew_its_publication_does_not_count_as_available() {
        let bindings = [binding(1, None), binding(2, Some(7))];
        let withdrawn = [publication(1, None, 0, 0).endpoint];
        let phone_away = [publication(2, Some(7), 15500, 1)];
        assert_eq!(
            aggregate_user(&bindings, &phone_away, &withdrawn)
                .availability
                .value(),
            15500,
            "the PC signed out: only the away phone is left"
        );
        assert_eq!(
            aggregate_user(&bindings[..1], &[], &withdrawn).availability,
            Availability::OFFLINE
        );
    }

    #[test]
    fn endpoints_and_their_publications_aggregate_like_lync() {
        // (bindings, publications, expected number)
        let cases: Vec<(Vec<Binding>, Vec<Pub>, u32)> = vec![
            // Nobody: offline.
            (vec![], vec![], Availability::OFFLINE.value()),
            // Registered, never published: available.
            (
                vec![binding(1, None)],
                vec![],
                Availability::AVAILABLE.value(),
            ),
            // A PC that never published is active and available; an active busy phone
            // is busier, and wins.
            (
                vec![binding(1, None), binding(2, Some(7))],
                vec![publication(2, Some(7), 6500, 1)],
                6500,
            ),
            // Idle available PC and an away phone: the lowest (nearest) wins.
            (
                vec![binding(1, None), binding(2, Some(7))],
                vec![
                    publication(1, None, 5000, 1),
                    publication(2, Some(7), 15500, 2),
                ],
                5000,
            ),
            // A publication from an endpoint that never registered still counts.
            (vec![], vec![publication(3, None, 9500, 1)], 9500),
            // The publication belongs to the binding on its flow, not to another.
            (
                vec![binding(1, None), binding(2, Some(7))],
                vec![publication(2, Some(7), 18500, 1)],
                Availability::AVAILABLE.value(),
            ),
        ];
        for (i, (b, p, want)) in cases.iter().enumerate() {
            assert_eq!(number(b, p), *want, "case {i}");
        }
    }
}
