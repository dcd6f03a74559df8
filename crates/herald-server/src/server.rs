//! Start-up and the workers: the transport spreads its events over one queue per worker
//! by source address (so one client's requests stay in order while different clients
//! are served in parallel); background tasks expire bindings and clean up closed flows.
use crate::config::ServerConfig;
use crate::inbound::Inbound;
use crate::overload::{Overload, OverloadStats};
use crate::router::{Router, Services};
use herald_conference::ConferenceService;
use herald_im::ImService;
use herald_presence::PresenceService;
use herald_proxy::{Proxy, ProxyConfig, Wire};
use herald_registrar::{Authenticator, LocationService, MemoryLocation, Registrar, ServedDomains};
use herald_sip::message::ParseLimits;
use herald_store::SharedStore;
use herald_transaction::{Output, Timers, TransactionManager};
use herald_transport::{Event, ListenSpec, Target, TransportError, TransportHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("store: {0}")]
    Store(#[from] herald_store::StoreError),
}

/// A running server.
pub struct Server {
    transport: TransportHandle,
    location: Arc<dyn LocationService>,
    auth: Arc<Authenticator>,
    im: Arc<ImService>,
    presence: Arc<PresenceService>,
    conference: Arc<ConferenceService>,
    proxy: Arc<Proxy>,
    overload: Arc<Overload>,
    /// What the services read and write; kept to see what a restore changed.
    store: SharedStore,
    tasks: Vec<JoinHandle<()>>,
}

/// How often a drain looks at the requests still in service tasks.
const DRAIN_POLL: Duration = Duration::from_millis(10);
/// After the last service task, a moment for the requests the workers answer
/// themselves (REGISTER, OPTIONS: store reads of a few ms) and the answers just sent.
const DRAIN_SETTLE: Duration = Duration::from_millis(100);

/// How a drain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drained {
    /// Requests still being handled when the drain gave up (0: every one was answered).
    pub unfinished: usize,
    /// How long the drain took.
    pub took: Duration,
}

impl Server {
    pub async fn start(config: ServerConfig, store: SharedStore) -> Result<Server, ServerError> {
        if config.domains.is_empty() {
            return Err(ServerError::Config(
                "at least one domain is required".into(),
            ));
        }
        let limits = ParseLimits {
            max_message_size: config.transport.max_message_size,
            ..ParseLimits::default()
        };
        let (transport, queues) =
            herald_transport::start_sharded(config.transport.clone(), config.workers.max(1))
                .await?;

        let mut aliases = config.aliases.clone();
        aliases.extend([
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ]);
        for spec in transport.local_addrs() {
            if !spec.addr.ip().is_unspecified() {
                aliases.push(spec.addr.ip().to_string());
            }
        }
        let domains = ServedDomains::new(config.domains.clone(), aliases);
        let location: Arc<dyn LocationService> = Arc::new(MemoryLocation::new());
        let auth = Arc::new(
            Authenticator::new(
                store.clone(),
                config.nonce_lifetime,
                config.digest_algorithms.clone(),
            )
            .with_lockout(config.lockout.clone())
            .with_user_limits(config.user_limits.clone()),
        );
        let registrar = Arc::new(Registrar::new(
            config.registrar.clone(),
            domains.clone(),
            location.clone(),
            auth.clone(),
        ));

        // Timer-driven outputs (retransmissions, timeouts) are handled by a task of
        // their own.
        let (timer_tx, mut timer_rx) = mpsc::unbounded_channel::<Output<Target>>();
        let sink: Arc<dyn Fn(Output<Target>) + Send + Sync> = Arc::new(move |o| {
            let _ = timer_tx.send(o);
        });
        let tm = TransactionManager::new(Timers::default(), 16, sink);
        let wire = Arc::new(Wire::new(tm, transport.clone()));
        let listeners = transport.local_addrs();
        let proxy = Arc::new(Proxy::new(
            wire.clone(),
            listeners.clone(),
            ProxyConfig {
                advertise: config.advertise.clone(),
                product: config.product.clone(),
                ..ProxyConfig::default()
            },
        ));
        let im = ImService::new(
            proxy.clone(),
            auth.clone(),
            domains.clone(),
            location.clone(),
            store.clone(),
            config.im.clone(),
        );
        im.start().await?;
        let presence = PresenceService::new(
            proxy.clone(),
            auth.clone(),
            domains.clone(),
            location.clone(),
            store.clone(),
            config.presence.clone(),
            config.product.clone(),
        );
        let conference = ConferenceService::new(
            proxy.clone(),
            auth.clone(),
            domains.clone(),
            location.clone(),
            store.clone(),
            im.archiver(),
            config.conference.clone(),
            config.product.clone(),
        );
        conference.start().await;
        presence.start();
        im.set_sender_filter(Arc::new(crate::blocking::PresenceBlocks(presence.clone())));
        let mut ports: Vec<u16> = listeners.iter().map(|l| l.addr.port()).collect();
        ports.sort_unstable();
        ports.dedup();
        let overload = Arc::new(Overload::new(config.overload.clone()));
        let router = Arc::new(Router::new(
            Services {
                registrar,
                im: im.clone(),
                presence: presence.clone(),
                conference: conference.clone(),
                proxy: proxy.clone(),
            },
            domains.clone(),
            ports,
            config.product.clone(),
            overload.clone(),
        ));
        let inbound = Arc::new(Inbound {
            wire: wire.clone(),
            proxy: proxy.clone(),
            router,
            limits,
            merged: Default::default(),
            overload: overload.clone(),
            location: location.clone(),
            domains: domains.clone(),
            tag: format!("{:016x}", rand::random::<u64>()),
        });

        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move {
            while let Some(o) = timer_rx.recv().await {
                wire.dispatch(vec![o]).await;
            }
        }));
        let cleanup = Arc::new(FlowCleanup {
            location: location.clone(),
            proxy: proxy.clone(),
            presence: presence.clone(),
            conference: conference.clone(),
        });
        for events in queues {
            tasks.push(tokio::spawn(work(
                events,
                inbound.clone(),
                cleanup.clone(),
                overload.clone(),
            )));
        }
        {
            let location = location.clone();
            let presence = presence.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let gone = location.expire(Instant::now()).await;
                    if !gone.is_empty() {
                        tracing::debug!(count = gone.len(), "bindings expired");
                    }
                    for (aor, _) in gone {
                        presence.endpoints_changed(&aor);
                    }
                }
            }));
        }
        Ok(Server {
            transport,
            location,
            auth,
            im,
            presence,
            conference,
            proxy,
            overload,
            store,
            tasks,
        })
    }

    pub fn local_addrs(&self) -> Vec<ListenSpec> {
        self.transport.local_addrs()
    }
    pub fn transport(&self) -> &TransportHandle {
        &self.transport
    }
    pub fn location(&self) -> &Arc<dyn LocationService> {
        &self.location
    }
    /// IM sessions (record-routed dialogs) the server currently tracks.
    pub fn dialog_count(&self) -> usize {
        self.proxy.dialog_count()
    }

    /// Publications, subscriptions and online users of the presence service.
    pub fn presence_stats(&self) -> herald_presence::Stats {
        self.presence.stats()
    }

    /// Requests refused by overload control, and the work in flight.
    pub fn overload_stats(&self) -> OverloadStats {
        self.overload.stats()
    }

    /// Conferences, participants and messages carried by the conference focus.
    pub fn conference_stats(&self) -> herald_conference::Stats {
        self.conference.stats()
    }

    /// A user was changed by an administrator: forget cached credentials, and end the
    /// bindings, publications and subscriptions of a removed or disabled user at once.
    pub async fn user_changed(&self, aor: &str, still_enabled: bool) {
        self.auth.invalidate(aor);
        self.im.user_changed(aor).await;
        if !still_enabled {
            let n = self.location.remove_aor(aor).await;
            tracing::info!(%aor, bindings = n, "user removed or disabled: bindings ended");
        }
        self.presence.user_changed(aor, still_enabled).await;
        if !still_enabled {
            self.conference.user_removed(aor);
        }
    }

    /// The store was replaced under the running server (a restore): `before` are the
    /// users it held until then. Everything the services keep from the store is read
    /// again: cached credentials and archiving settings, who has offline messages (handed
    /// over at once to those registered), presence rules; users the restored store lacks
    /// or has disabled lose their bindings, publications, subscriptions and conferences.
    pub async fn store_replaced(&self, before: Vec<String>) -> Result<(), ServerError> {
        let after = self.store.list_users().await?;
        let mut enabled: std::collections::HashMap<String, bool> =
            before.into_iter().map(|aor| (aor, false)).collect();
        enabled.extend(after.into_iter().map(|u| (u.aor, u.enabled)));
        for (aor, still_enabled) in &enabled {
            self.user_changed(aor, *still_enabled).await;
            if *still_enabled {
                self.presence.rules_changed(aor).await;
            }
        }
        self.presence.rules_changed("*").await;
        self.im.store_replaced().await?;
        tracing::info!(users = enabled.len(), "store replaced: state reloaded");
        Ok(())
    }

    /// An administrator changed `owner`'s contact list, access levels, privacy mode or
    /// policy (`"*"`: the server-wide policy): the presence service reloads them and
    /// re-notifies the watchers whose view changed.
    pub async fn presence_rules_changed(&self, owner: &str) {
        self.presence.rules_changed(owner).await;
    }

    /// The first half of a graceful shutdown: the TCP and TLS listeners close, every
    /// new out-of-dialog request is refused with 503 and a Retry-After (the overload
    /// path: within-dialog requests, ACK, CANCEL, retransmissions and registration
    /// refreshes still pass), and the requests already taken are left to finish, up to
    /// `timeout`. Flows stay open and are still read meanwhile: a request forked to a
    /// device needs that device's answer. Store writes are part of those requests, so
    /// a drained request's write is committed. Follow with [`Server::stop`].
    pub async fn drain(&self, timeout: Duration) -> Drained {
        let start = Instant::now();
        let deadline = start + timeout;
        self.overload.start_draining();
        self.transport.stop_accepting();
        tracing::info!(
            in_flight = self.overload.stats().in_flight,
            timeout_ms = timeout.as_millis() as u64,
            "draining: new requests get 503, those in progress finish"
        );
        let mut unfinished = self.overload.stats().in_flight;
        while unfinished > 0 && Instant::now() < deadline {
            tokio::time::sleep(DRAIN_POLL).await;
            unfinished = self.overload.stats().in_flight;
        }
        if unfinished == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(DRAIN_SETTLE.min(left)).await;
        }
        let drained = Drained {
            unfinished,
            took: start.elapsed(),
        };
        if unfinished == 0 {
            tracing::info!(took_ms = drained.took.as_millis() as u64, "drained");
        } else {
            tracing::warn!(
                unfinished,
                took_ms = drained.took.as_millis() as u64,
                "drain timeout: requests still in progress are abandoned"
            );
        }
        drained
    }

    /// Closes every flow in order (queued messages written, FIN, the peer's last bytes
    /// read) and stops the server's tasks. After [`Server::drain`] for a graceful
    /// shutdown; alone, it stops at once.
    pub async fn stop(&self) {
        self.transport.shutdown().await;
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Stops at once, without a drain (see [`Server::stop`]).
    pub async fn shutdown(self) {
        self.stop().await;
    }
}

/// What ends with a TCP/TLS flow: the bindings registered over it, and the
/// subscriptions, conference dialogs and IM sessions that used it.
struct FlowCleanup {
    location: Arc<dyn LocationService>,
    proxy: Arc<Proxy>,
    presence: Arc<PresenceService>,
    conference: Arc<ConferenceService>,
}

impl FlowCleanup {
    async fn flow_closed(&self, flow: herald_transport::FlowId, remote: std::net::SocketAddr) {
        let aors = self.location.remove_flow(flow).await;
        if !aors.is_empty() {
            tracing::debug!(flow, %remote, count = aors.len(), "flow closed: its bindings ended");
        }
        self.presence.flow_closed(flow);
        self.conference.flow_closed(flow);
        for aor in &aors {
            self.presence.endpoints_changed(aor);
        }
        let proxy = self.proxy.clone();
        tokio::spawn(async move { proxy.flow_closed(flow).await });
    }
}

/// One worker: the events of the sources the transport gives its queue, in order. A
/// full queue is back-pressure to the transport, which drops UDP and stops reading TCP.
async fn work(
    mut events: mpsc::Receiver<Event>,
    inbound: Arc<Inbound>,
    cleanup: Arc<FlowCleanup>,
    overload: Arc<Overload>,
) {
    let capacity = events.max_capacity();
    while let Some(event) = events.recv().await {
        match event {
            Event::Message {
                source,
                data,
                received,
            } => {
                overload.note_event_backlog(events.len(), capacity, Instant::now());
                inbound.on_message(source, data, received).await
            }
            Event::Unframeable {
                source,
                data,
                reason,
                status,
            } => inbound.on_unframeable(source, data, &reason, status).await,
            Event::FlowClosed { flow, remote } => cleanup.flow_closed(flow, remote).await,
        }
    }
}
