//! Presence (RFC 3856 on RFC 6665, RFC 3903): publications from every endpoint of a
//! user, aggregated into one state (Lync's multiple points of presence), and the
//! subscriptions that watch it — one user, oneself (watcher info, RFC 3857) or one's
//! contact list (RFC 4662) — with what each watcher may see decided by the owner's
//! access rules.
//!
//! Data flows one way: the router hands PUBLISH and SUBSCRIBE here
//! ([`PresenceService::publish`], [`PresenceService::subscribe`],
//! [`PresenceService::in_dialog`]); registrations, closed connections and
//! administrators report changes ([`PresenceService::endpoints_changed`],
//! [`PresenceService::flow_closed`], [`PresenceService::rules_changed`]); NOTIFYs
//! leave through the proxy's wire, one at a time per subscription.
//!
//! Soft state (publications, subscriptions) lives in memory: clients refresh it, and
//! after a restart they re-subscribe when their NOTIFYs stop or their refresh gets 481.
//! Durable state (contact lists, access levels, privacy mode, policies) is in the store.
mod config;
mod documents;
mod endpoints;
mod event;
mod expiry;
mod notifier;
mod notify;
mod publications;
mod publish;
mod rules;
mod rules_store;
mod service;
mod subscribe;
mod subscriptions;

pub use config::{ExpiryBounds, PresenceConfig};
pub use event::ALLOW_EVENTS;
pub use service::{PresenceService, Stats};
pub use subscribe::LIST_SUFFIX;

use herald_proxy::Upstream;
use herald_sip::Method;
use std::sync::Arc;

impl PresenceService {
    /// Answers a PUBLISH or a SUBSCRIBE outside a dialog.
    pub async fn request(self: Arc<Self>, up: Upstream) {
        match up.request.method {
            Method::Publish => self.publish(up).await,
            _ => self.subscribe(up).await,
        }
    }
}
