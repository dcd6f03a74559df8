//! The life of one held connection: bind a loopback source address, connect (TLS
//! handshake if asked), REGISTER with digest authentication, then hold until told to
//! stop: re-REGISTER every refresh interval (jittered) and ping every keep-alive
//! interval, counting everything in the run's totals.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::Rng as _;
use rustls::pki_types::ServerName;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::hold_report::HoldCounters;
use crate::hold_session::{Failure, Io, Registration, Session, SessionCounts};

/// How long a closing connection may take to say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// A first REGISTER refused with 503 (an overloaded server) is tried again this many
/// times, after 1 to 3 s times the attempt number, as a device would back off.
const SETUP_RETRIES: u32 = 3;

/// What every connection shares.
pub struct ClientPlan {
    /// The server.
    pub server: SocketAddr,
    /// TLS connector and SNI name; `None` for plain TCP.
    pub tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Time allowed for the TCP connect plus the TLS handshake.
    pub connect_timeout: Duration,
    /// Time a REGISTER waits for its final response.
    pub request_timeout: Duration,
    /// Mean interval between REGISTER refreshes (each one drawn in 80..100 % of it).
    pub refresh: Duration,
    /// Interval between pings; `None`: no pings.
    pub keepalive: Option<Duration>,
    /// Set when the hold is over: losses after that are not counted.
    pub hold_over: AtomicBool,
    /// The run's totals.
    pub counters: HoldCounters,
}

/// One client: `source` is the address to bind, `registration` who registers.
/// `setup` is held until the first REGISTER is answered (bounds the setups in
/// flight); `stop` ends the hold.
pub async fn run_client(
    plan: Arc<ClientPlan>,
    source: IpAddr,
    registration: Registration,
    setup: OwnedSemaphorePermit,
    stop: watch::Receiver<bool>,
) {
    let connected = tokio::time::timeout(plan.connect_timeout, connect(&plan, source)).await;
    let stream = match connected {
        Ok(Ok(stream)) => stream,
        Ok(Err(kind)) => return setup_failed(&plan, kind),
        Err(_) => return setup_failed(&plan, "connect_timeout"),
    };
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(_) => return setup_failed(&plan, "connect"),
    };
    match &plan.tls {
        None => {
            HoldCounters::bump(&plan.counters.opened);
            hold(
                &plan,
                Session::new(stream, local, registration),
                setup,
                stop,
            )
            .await;
        }
        Some((connector, name)) => {
            let handshake = connector.connect(name.clone(), stream);
            match tokio::time::timeout(plan.connect_timeout, handshake).await {
                Ok(Ok(tls)) => {
                    HoldCounters::bump(&plan.counters.opened);
                    hold(&plan, Session::new(tls, local, registration), setup, stop).await;
                }
                Ok(Err(_)) => setup_failed(&plan, "tls"),
                Err(_) => setup_failed(&plan, "tls_timeout"),
            }
        }
    }
}

async fn connect(plan: &ClientPlan, source: IpAddr) -> Result<TcpStream, &'static str> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|_| "socket")?;
    // Bound before connecting, so each source address has its own ephemeral ports.
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|_| "bind")?;
    let stream = socket.connect(plan.server).await.map_err(|_| "connect")?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn setup_failed(plan: &ClientPlan, kind: &str) {
    plan.counters.setup_failures.lock().add(kind);
    HoldCounters::bump(&plan.counters.settled);
}

async fn hold<S: Io>(
    plan: &ClientPlan,
    mut session: Session<S>,
    setup: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let counters = &plan.counters;
    let mut reported = SessionCounts::default();
    let mut registered = session.register(plan.request_timeout).await;
    let mut retries = 0;
    while registered == Err(Failure::Status(503)) && retries < SETUP_RETRIES {
        retries += 1;
        HoldCounters::bump(&counters.setup_retries);
        let pause = Duration::from_secs_f64(rand::thread_rng().gen_range(1.0..3.0));
        tokio::time::sleep(pause * retries).await;
        registered = session.register(plan.request_timeout).await;
    }
    report_counts(counters, &session.counts, &mut reported);
    if let Err(failure) = registered {
        session.close(CLOSE_GRACE).await;
        return setup_failed(plan, &failure.kind());
    }
    HoldCounters::bump(&counters.registered);
    HoldCounters::bump(&counters.settled);
    drop(setup);

    let now = Instant::now();
    let mut next_refresh = now + jittered(plan.refresh);
    // Pings start at a random phase so that they do not come in waves.
    let mut next_ping = plan
        .keepalive
        .map(|every| now + every.mul_f64(rand::thread_rng().gen_range(0.0..1.0)));
    loop {
        let next = next_ping.map_or(next_refresh, |ping| ping.min(next_refresh));
        let idled = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            idled = session.idle_until(next) => idled,
        };
        report_counts(counters, &session.counts, &mut reported);
        if let Err(failure) = idled {
            return lost(plan, &failure);
        }
        let now = Instant::now();
        if let (Some(ping_at), Some(every)) = (next_ping, plan.keepalive)
            && now >= ping_at
        {
            if let Err(failure) = session.ping().await {
                return lost(plan, &failure);
            }
            HoldCounters::bump(&counters.pings);
            next_ping = Some(now + every);
        }
        if now >= next_refresh {
            let refreshed = tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => break,
                refreshed = session.register(plan.request_timeout) => refreshed,
            };
            report_counts(counters, &session.counts, &mut reported);
            match refreshed {
                Ok(()) => HoldCounters::bump(&counters.reregisters_ok),
                Err(failure) => {
                    counters.reregister_failures.lock().add(&failure.kind());
                    if matches!(failure, Failure::Closed | Failure::Io | Failure::Garbage) {
                        return lost(plan, &failure);
                    }
                }
            }
            next_refresh = Instant::now() + jittered(plan.refresh);
        }
    }
    session.close(CLOSE_GRACE).await;
}

/// 80 to 100 % of `interval`, so that refreshes spread out.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::thread_rng().gen_range(0.8..=1.0))
}

fn lost(plan: &ClientPlan, failure: &Failure) {
    if !plan.hold_over.load(Ordering::Acquire) {
        plan.counters.lost.lock().add(&failure.kind());
    }
}

/// Adds what the session counted since the last call to the run's totals.
fn report_counts(counters: &HoldCounters, now: &SessionCounts, reported: &mut SessionCounts) {
    let add = |counter: &std::sync::atomic::AtomicU64, now: u64, before: u64| {
        counter.fetch_add(now.saturating_sub(before), Ordering::Relaxed);
    };
    add(&counters.pongs, now.pongs, reported.pongs);
    add(
        &counters.server_requests,
        now.server_requests,
        reported.server_requests,
    );
    add(&counters.challenges, now.challenges, reported.challenges);
    *reported = *now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_80_to_100_percent() {
        let interval = Duration::from_secs(100);
        for _ in 0..1000 {
            let d = jittered(interval);
            assert!(
                d >= Duration::from_secs(80) && d <= interval,
                "{d:?} out of range"
            );
        }
    }
}
