//! One TCP connection to the server, shared by many simulated users.
//!
//! A writer task drains an outbox (batching whatever is queued into one write); a
//! reader task frames the stream (RFC 3261 §18.3), routes responses to the request
//! waiting for them and hands requests (NOTIFYs) to the [`Inbound`] handler, with the
//! instant the bytes were read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use herald_sip::framing::{Frame, frame};
use herald_sip::message::ParseLimits;
use herald_sip::{Message, Request, Response};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::anomalies::{Anomalies, Anomaly};
use crate::routing::{Delivery, RouteKey, Routes};

/// Largest message accepted from the server.
const MAX_MESSAGE: usize = 65_535;
/// Bytes gathered from the outbox into one write.
const WRITE_BATCH: usize = 64 * 1024;

/// Receives the requests the server sends on a connection.
pub trait Inbound: Send + Sync + 'static {
    /// A request read at `at`; `conn` carries the answer back.
    fn request(&self, conn: &Connection, request: Request, at: Instant);
}

/// Why a request got no final response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// No final response within the timeout.
    Timeout,
    /// The connection closed before the response came.
    Closed,
}

impl RequestError {
    /// The outcome name used in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestError::Timeout => "timeout",
            RequestError::Closed => "closed",
        }
    }
}

/// A connection to the server.
pub struct Connection {
    id: usize,
    local: SocketAddr,
    outbox: mpsc::UnboundedSender<Bytes>,
    routes: Mutex<Routes>,
    closed: AtomicBool,
    anomalies: Arc<Anomalies>,
}

impl Connection {
    /// Connects to `server` and starts the reader and writer tasks.
    pub async fn open(
        server: SocketAddr,
        id: usize,
        inbound: Arc<dyn Inbound>,
        anomalies: Arc<Anomalies>,
    ) -> std::io::Result<Arc<Connection>> {
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let (reader, writer) = stream.into_split();
        let (outbox, queued) = mpsc::unbounded_channel();
        let conn = Arc::new(Connection {
            id,
            local,
            outbox,
            routes: Mutex::new(Routes::default()),
            closed: AtomicBool::new(false),
            anomalies,
        });
        tokio::spawn(write_loop(conn.clone(), writer, queued));
        tokio::spawn(read_loop(conn.clone(), reader, inbound));
        Ok(conn)
    }

    /// Index of this connection among the tool's connections.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Local address (for Via and Contact).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Queues bytes for the server; false when the connection is closed.
    pub fn send(&self, bytes: Bytes) -> bool {
        !self.closed.load(Ordering::Acquire) && self.outbox.send(bytes).is_ok()
    }

    /// Sends a request and waits up to `timeout` for its final response.
    pub async fn request(
        &self,
        key: RouteKey,
        bytes: Bytes,
        timeout: Duration,
    ) -> Result<Response, RequestError> {
        let answer = {
            let mut routes = self.routes.lock();
            // Checked under the lock that `close` takes, so no waiter is left behind.
            if self.closed.load(Ordering::Acquire) {
                return Err(RequestError::Closed);
            }
            routes.wait(key.clone())
        };
        if !self.send(bytes) {
            self.routes.lock().forget(&key);
            return Err(RequestError::Closed);
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(RequestError::Closed),
            Err(_) => {
                self.routes.lock().forget(&key);
                Err(RequestError::Timeout)
            }
        }
    }

    fn close(&self, why: &str) {
        let mut routes = self.routes.lock();
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.anomalies.record(
                Anomaly::ConnectionLost,
                format!("connection {} ({}): {why}", self.id, self.local),
            );
        }
        routes.fail_all();
    }

    fn received(&self, bytes: Bytes, at: Instant, inbound: &dyn Inbound) {
        let limits = ParseLimits {
            max_message_size: MAX_MESSAGE,
            ..ParseLimits::default()
        };
        match Message::parse(bytes.clone(), &limits) {
            Ok(Message::Response(response)) => {
                let status = response.status;
                if self.routes.lock().deliver(response) == Delivery::Unrouted {
                    self.anomalies.record(
                        Anomaly::UnroutedResponse,
                        format!("{status} on connection {}", self.id),
                    );
                }
            }
            Ok(Message::Request(request)) => inbound.request(self, request, at),
            Err(rejected) => self.anomalies.record(
                Anomaly::Unparseable,
                format!(
                    "{}: {:?}",
                    rejected.error,
                    String::from_utf8_lossy(bytes.get(..bytes.len().min(200)).unwrap_or_default())
                ),
            ),
        }
    }
}

async fn write_loop(
    conn: Arc<Connection>,
    mut writer: OwnedWriteHalf,
    mut queued: mpsc::UnboundedReceiver<Bytes>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    while let Some(first) = queued.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        while batch.len() < WRITE_BATCH {
            match queued.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if let Err(e) = writer.write_all(&batch).await {
            conn.close(&format!("write failed: {e}"));
            return;
        }
    }
}

async fn read_loop(conn: Arc<Connection>, mut reader: OwnedReadHalf, inbound: Arc<dyn Inbound>) {
    let mut buf = BytesMut::with_capacity(256 * 1024);
    loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(256 * 1024);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                conn.close("closed by the server");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                conn.close(&format!("read failed: {e}"));
                return;
            }
        }
        let at = Instant::now();
        loop {
            match frame(&buf, MAX_MESSAGE) {
                Ok(Frame::Incomplete) => break,
                Ok(Frame::KeepAlive { len, ping }) => {
                    let _ = buf.split_to(len.min(buf.len()));
                    if ping {
                        conn.send(Bytes::from_static(b"\r\n"));
                    }
                }
                Ok(Frame::Message { len }) => {
                    let message = buf.split_to(len.min(buf.len())).freeze();
                    conn.received(message, at, inbound.as_ref());
                }
                Err(e) => {
                    conn.anomalies
                        .record(Anomaly::Framing, format!("connection {}: {e}", conn.id));
                    conn.close("unframeable stream");
                    return;
                }
            }
        }
    }
}
