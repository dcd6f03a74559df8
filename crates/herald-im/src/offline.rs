//! Offline store-and-forward: a MESSAGE for a user with no reachable endpoint is
//! written to the store (answered 202 only once committed) and handed over, oldest
//! first, when the user next registers. A message is deleted only after a device took
//! it, so it is duplicated only if the server dies between the hand-over and that
//! deletion, and lost never.
use crate::clock::now_ms;
use crate::service::ImService;
use herald_proxy::{BranchOutcome, ForkOptions};
use herald_sip::{HeaderName, Method, Request, SipStr, Uri};
use herald_store::{NewOfflineMessage, OfflineMessage, SharedStore, StoreError};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Messages fetched from the store per round of a hand-over.
const BATCH: u32 = 20;
/// Lets the client take in its 200 OK to REGISTER before the first stored message.
const SETTLE: Duration = Duration::from_millis(200);

pub struct Offline {
    store: SharedStore,
    limit: u32,
    expiry: Duration,
    /// Users with messages waiting: a registration of anyone else costs no query.
    waiting: Mutex<HashSet<String>>,
    /// Users whose hand-over is running: one at a time per user keeps the order.
    delivering: Mutex<HashSet<String>>,
}

impl Offline {
    pub fn new(store: SharedStore, limit: u32, expiry: Duration) -> Self {
        Offline {
            store,
            limit,
            expiry,
            waiting: Mutex::new(HashSet::new()),
            delivering: Mutex::new(HashSet::new()),
        }
    }

    /// Learns from the store who has messages waiting (at start-up).
    pub async fn load(&self) -> Result<usize, StoreError> {
        let all = self.store.offline_recipients(now_ms()).await?;
        let n = all.len();
        self.waiting.lock().extend(all);
        Ok(n)
    }

    /// Keeps `req` for `recipient`. Err carries the reason phrase of the refusal.
    pub async fn store(&self, req: &Request, sender: &str, recipient: &str) -> Result<(), String> {
        let received = now_ms();
        let date = match req.headers.get(&HeaderName::Date) {
            Some(d) => d.to_string(),
            None => httpdate::fmt_http_date(SystemTime::now()),
        };
        let msg = NewOfflineMessage {
            recipient: recipient.to_owned(),
            sender: sender.to_owned(),
            from_header: strip_tag(
                req.headers
                    .get(&HeaderName::From)
                    .map(|v| v.as_str())
                    .unwrap_or_default(),
            ),
            content_type: req.content_type().unwrap_or("text/plain").to_owned(),
            body: req.body.to_vec(),
            date,
            call_id: req.call_id().unwrap_or_default().to_owned(),
            received_at_ms: received,
            expires_at_ms: received.saturating_add(self.expiry.as_millis() as i64),
        };
        match self.store.enqueue_offline(msg, self.limit).await {
            Ok(id) => {
                self.waiting.lock().insert(recipient.to_owned());
                tracing::info!(%sender, %recipient, id, "recipient offline: message stored");
                Ok(())
            }
            Err(StoreError::LimitReached { .. }) => {
                tracing::warn!(%sender, %recipient, "offline queue full: message refused");
                Err("Temporarily Unavailable (recipient's offline message queue is full)".into())
            }
            Err(e) => {
                tracing::error!(%sender, %recipient, error = %e, "offline store failed: message refused");
                Err("Temporarily Unavailable (message could not be stored)".into())
            }
        }
    }

    /// Reads again who has messages waiting, after the store was replaced (a restore);
    /// returns them.
    pub async fn reload(&self) -> Result<Vec<String>, StoreError> {
        let all = self.store.offline_recipients(now_ms()).await?;
        *self.waiting.lock() = all.iter().cloned().collect();
        Ok(all)
    }

    /// Drops messages past their expiry.
    pub async fn expire(&self) {
        match self.store.expire_offline(now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "expired offline messages dropped"),
            Err(e) => tracing::warn!(error = %e, "offline expiry failed"),
        }
    }

    /// `aor` registered: start its hand-over unless nothing waits or one runs.
    pub fn wake(&self, service: &Arc<ImService>, aor: &str) {
        if !self.waiting.lock().contains(aor) {
            return;
        }
        if !self.delivering.lock().insert(aor.to_owned()) {
            return;
        }
        let service = service.clone();
        let aor = aor.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(SETTLE).await;
            service.offline.hand_over(&service, &aor).await;
            service.offline.delivering.lock().remove(&aor);
        });
    }

    async fn hand_over(&self, service: &ImService, aor: &str) {
        loop {
            let batch = match self.store.offline_for(aor, now_ms(), BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(%aor, error = %e, "cannot read offline messages");
                    return;
                }
            };
            if batch.is_empty() {
                self.waiting.lock().remove(aor);
                // A message stored between the read and the removal must not wait for
                // a registration after the next one.
                match self.store.offline_for(aor, now_ms(), 1).await {
                    Ok(again) if again.is_empty() => return,
                    _ => {
                        self.waiting.lock().insert(aor.to_owned());
                        continue;
                    }
                }
            }
            for msg in batch {
                let targets = service.targets(aor).await;
                if targets.is_empty() {
                    return;
                }
                let Some(req) = self.rebuild(&msg, service) else {
                    tracing::error!(id = msg.id, "stored message cannot be rebuilt: dropped");
                    let _ = self.store.offline_delivered(msg.id).await;
                    continue;
                };
                let opts = ForkOptions {
                    record_route: false,
                    timeout: service.config.message_timeout,
                    return_on_2xx: true,
                };
                let result = service.proxy.fork(None, &req, targets, &opts).await;
                if !result.answered {
                    if refused_by_every_device(&result.branches) {
                        // Kept, it would block every message behind it until it expires.
                        tracing::warn!(%aor, id = msg.id, from = %msg.sender, "stored message refused by every device: dropped");
                        if let Err(e) = self.store.offline_delivered(msg.id).await {
                            tracing::warn!(%aor, id = msg.id, error = %e, "refused message not removed");
                            return;
                        }
                        continue;
                    }
                    tracing::info!(%aor, id = msg.id, "stored message not taken: kept for the next registration");
                    return;
                }
                if let Err(e) = self.store.offline_delivered(msg.id).await {
                    // It will be handed over again: a duplicate, never a loss.
                    tracing::warn!(%aor, id = msg.id, error = %e, "delivered message not marked");
                    return;
                }
                tracing::info!(%aor, from = %msg.sender, id = msg.id, "stored message delivered");
            }
        }
    }

    /// The MESSAGE that carries a stored message: the original sender in From (with a
    /// fresh tag), the original Date, a fresh Call-ID.
    fn rebuild(&self, msg: &OfflineMessage, service: &ImService) -> Option<Request> {
        let uri = Uri::parse_str(&format!("sip:{}", msg.recipient)).ok()?;
        let mut req = Request::new(Method::Message, uri);
        let tag = format!("{:016x}", rand::random::<u64>());
        req.headers
            .push(HeaderName::MaxForwards, SipStr::from_static("70"));
        req.headers
            .push(HeaderName::From, format!("{};tag={tag}", msg.from_header));
        req.headers
            .push(HeaderName::To, format!("<sip:{}>", msg.recipient));
        req.headers.push(
            HeaderName::CallId,
            format!(
                "{:032x}@{}",
                rand::random::<u128>(),
                service.domains.primary()
            ),
        );
        req.headers
            .push(HeaderName::CSeq, SipStr::from_static("1 MESSAGE"));
        req.headers.push(HeaderName::Date, msg.date.clone());
        req.headers
            .push(HeaderName::ContentType, msg.content_type.clone());
        req.body = msg.body.clone().into();
        Some(req)
    }
}

/// Every device answered with a final refusal that will not change on a retry (a
/// 4xx other than the "not now" ones, or a 6xx), as opposed to being unreachable,
/// busy or failing.
fn refused_by_every_device(branches: &[BranchOutcome]) -> bool {
    !branches.is_empty()
        && branches.iter().all(|b| {
            b.status.is_some_and(|s| {
                (400..500).contains(&s) && !matches!(s, 408 | 480 | 486 | 491) || s >= 600
            })
        })
}

/// The From value without its tag parameter (a new one is made for the hand-over).
fn strip_tag(from: &str) -> String {
    match herald_sip::NameAddr::parse(&SipStr::from(from.to_owned())) {
        Ok(mut addr) => {
            addr.params.remove("tag");
            addr.to_string()
        }
        Err(_) => from.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{refused_by_every_device, strip_tag};
    use herald_proxy::{BranchLabel, BranchOutcome};

    fn outcomes(statuses: &[Option<u16>]) -> Vec<BranchOutcome> {
        statuses
            .iter()
            .map(|&status| BranchOutcome {
                label: BranchLabel::Named("d"),
                status,
            })
            .collect()
    }

    #[test]
    fn only_a_lasting_refusal_by_every_device_drops_a_stored_message() {
        assert!(refused_by_every_device(&outcomes(&[Some(415)])));
        assert!(refused_by_every_device(&outcomes(&[Some(488), Some(603)])));
        assert!(!refused_by_every_device(&outcomes(&[Some(415), Some(408)])));
        assert!(!refused_by_every_device(&outcomes(&[Some(480)])));
        assert!(!refused_by_every_device(&outcomes(&[Some(503)])));
        assert!(!refused_by_every_device(&outcomes(&[None])));
        assert!(!refused_by_every_device(&[]));
    }

    #[test]
    fn the_stored_from_keeps_name_and_address_but_not_the_tag() {
        assert_eq!(
            strip_tag("\"Alice A.\" <sip:alice@example.com>;tag=abc"),
            "\"Alice A.\" <sip:alice@example.com>"
        );
        assert_eq!(
            strip_tag("<sip:alice@example.com>"),
            "<sip:alice@example.com>"
        );
    }
}
