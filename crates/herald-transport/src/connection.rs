//! The life of one TCP/TLS connection: register it as a flow, read and frame messages,
//! write queued messages, answer keep-alives, enforce limits and timeouts, and clean up
//! (table entry, permit, `FlowClosed`) however it ends.
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use herald_sip::framing::{Frame, frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::activity::Activity;
use crate::event::{Event, FlowId, Source};
use crate::flow_table::FlowEntry;
use crate::limits::ConnectionPermit;
use crate::shared::{Shared, shut_down};
use crate::stats::{add, bump};
use crate::stream_halves::{ReadReady, SplitStream};
use crate::transport::Transport;

/// Room made for a read while a message is arriving, so large ones take few reads.
const READ_CHUNK: usize = 16 * 1024;
/// Room made for the first read of a message (once the stream is readable: an idle
/// connection holds no buffer); a typical SIP message fits.
const IDLE_READ_CHUNK: usize = 4 * 1024;
/// The RFC 5626 §3.5.1 pong.
const PONG: &[u8] = b"\r\n";
/// How long a closing connection may take to say goodbye (TLS close_notify, FIN).
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// After a framing error the connection keeps writing this long before closing, so
/// the answers to what it carried (and the 400 for the bad bytes) reach the peer.
const FRAMING_LINGER: Duration = Duration::from_millis(500);
/// On shutdown, how long to read (and discard) after our FIN, waiting for the peer's:
/// closing a socket with unread data makes the kernel reset the connection.
const EOF_WAIT: Duration = Duration::from_secs(1);
/// Queued messages gathered into one write, so a burst leaves in one syscall. The
/// batch exists only while there is a burst: an idle connection holds no write buffer.
const WRITE_BATCH: usize = 64 * 1024;

/// Why a connection ended, for the log.
#[derive(Debug)]
enum CloseReason {
    PeerClosed,
    ReadFailed(io::Error),
    WriteFailed(io::Error),
    Framing(String),
    TooLarge { size: usize, max: usize },
    PartialTimeout,
    Idle,
    Requested,
    Shutdown,
    ConsumerGone,
    Banned,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by peer"),
            CloseReason::ReadFailed(e) => write!(f, "read failed: {e}"),
            CloseReason::WriteFailed(e) => write!(f, "write failed: {e}"),
            CloseReason::Framing(reason) => write!(f, "unframeable stream: {reason}"),
            CloseReason::TooLarge { size, max } => {
                write!(
                    f,
                    "message of at least {size} bytes exceeds the {max}-byte limit"
                )
            }
            CloseReason::PartialTimeout => f.write_str("message not completed in time"),
            CloseReason::Idle => f.write_str("idle"),
            CloseReason::Requested => f.write_str("closed locally"),
            CloseReason::Shutdown => f.write_str("transport shut down"),
            CloseReason::ConsumerGone => f.write_str("event receiver dropped"),
            CloseReason::Banned => f.write_str("address banned by the flood guard"),
        }
    }
}

/// Registers an established connection as a flow and spawns its task.
pub(crate) fn spawn<S>(
    shared: &Arc<Shared>,
    stream: S,
    transport: Transport,
    local: SocketAddr,
    remote: SocketAddr,
    permit: ConnectionPermit,
) -> FlowId
where
    S: SplitStream,
{
    let flow = shared.flows.allocate_id();
    let (writer, queue) = mpsc::channel(shared.config.connection_write_queue.max(1));
    let (closer, close_requested) = watch::channel(false);
    let pong = writer.clone();
    shared.flows.insert(
        flow,
        FlowEntry {
            transport,
            remote,
            writer,
            closer,
        },
    );
    bump(&shared.counters.connections_opened);
    tracing::debug!(flow, %transport, %local, %remote, "connection open");
    let source = Source {
        transport,
        local,
        remote,
        flow: Some(flow),
    };
    let io = ConnectionIo {
        queue,
        pong,
        close_requested,
        permit,
    };
    // Boxed: an argument stays part of the task's state for the task's whole life, and a
    // TLS stream is over a kilobyte that the split below moves elsewhere anyway.
    tokio::spawn(run(Arc::clone(shared), source, flow, Box::new(stream), io));
    flow
}

/// The channel ends and the permit that one connection's task owns.
struct ConnectionIo {
    queue: mpsc::Receiver<Bytes>,
    pong: mpsc::Sender<Bytes>,
    close_requested: watch::Receiver<bool>,
    permit: ConnectionPermit,
}

async fn run<S>(shared: Arc<Shared>, source: Source, flow: FlowId, stream: Box<S>, io: ConnectionIo)
where
    S: SplitStream,
{
    let ConnectionIo {
        mut queue,
        pong,
        mut close_requested,
        permit,
    } = io;
    let (mut reader, mut writer) = (*stream).split_halves();
    let activity = Activity::new();
    let mut shutdown = shared.shutdown.subscribe();
    // The rest of the message being written: it survives the select below dropping the
    // writer half-way, so a shutdown can still finish it.
    let mut in_hand = Bytes::new();
    let reason = tokio::select! {
        reason = read_messages(&shared, source, &mut reader, &pong, &activity) => reason,
        reason = write_queued(&shared, &mut writer, &mut queue, &mut in_hand, &activity) => reason,
        _ = close_requested.wait_for(|close| *close) => CloseReason::Requested,
        () = shut_down(&mut shutdown) => CloseReason::Shutdown,
        () = activity.idle_for(shared.config.idle_timeout) => CloseReason::Idle,
    };
    match &reason {
        CloseReason::Framing(_) | CloseReason::TooLarge { .. } => {
            bump(&shared.counters.framing_errors);
            tracing::info!(flow, remote = %source.remote, "closing connection: {reason}");
            let _ = tokio::time::timeout(
                FRAMING_LINGER,
                write_queued(&shared, &mut writer, &mut queue, &mut in_hand, &activity),
            )
            .await;
        }
        CloseReason::Shutdown => {
            // What was queued before the shutdown are answers the peer is waiting for.
            let written = write_pending(&shared, &mut writer, &mut queue, &mut in_hand);
            let _ = tokio::time::timeout(CLOSE_GRACE, written).await;
            tracing::debug!(flow, remote = %source.remote, "closing connection: {reason}");
        }
        _ => tracing::debug!(flow, remote = %source.remote, "closing connection: {reason}"),
    }
    // Best effort: a peer that stopped reading must not hold the task forever.
    let _ = tokio::time::timeout(CLOSE_GRACE, writer.shutdown()).await;
    if matches!(reason, CloseReason::Shutdown) {
        let _ = tokio::time::timeout(EOF_WAIT, discard_until_eof(&mut reader)).await;
    }
    drop((reader, writer));

    // Out of the table before FlowClosed is seen, so the consumer never finds it alive.
    shared.flows.remove(flow);
    drop(permit);
    bump(&shared.counters.connections_closed);
    let closed = Event::FlowClosed {
        flow,
        remote: source.remote,
    };
    tokio::select! {
        biased;
        permit = shared.events_for(source.remote).reserve() => {
            if let Ok(permit) = permit {
                permit.send(closed);
            }
        }
        // A consumer that stopped reading during shutdown must not block it: deliver
        // if there is room, else drop.
        () = shut_down(&mut shutdown) => {
            let _ = shared.events_for(source.remote).try_send(closed);
        }
    }
}

/// Reads, frames and delivers messages until the stream ends or misbehaves.
async fn read_messages<R>(
    shared: &Shared,
    source: Source,
    reader: &mut R,
    pong: &mpsc::Sender<Bytes>,
    activity: &Activity,
) -> CloseReason
where
    R: ReadReady,
{
    let max = shared.config.max_message_size;
    let partial_timeout = shared.config.partial_message_timeout;
    let events = shared.events_for(source.remote);
    // Messages are split off this buffer and handed out frozen (zero-copy); the
    // allocation is freed when the last of them is dropped.
    let mut buf = BytesMut::new();
    // When the unfinished message at the front of `buf` began to arrive.
    let mut partial_since: Option<Instant> = None;
    loop {
        loop {
            if buf.is_empty() {
                partial_since = None;
                break;
            }
            let framed = match frame(&buf, max) {
                Ok(framed) => framed,
                Err(e) => {
                    let status = e.status().unwrap_or(400);
                    let reason = e.reason.into_owned();
                    let data = buf.split_to(buf.len().min(max)).freeze();
                    let event = Event::Unframeable {
                        source,
                        data,
                        reason: reason.clone(),
                        status,
                    };
                    if events.send(event).await.is_err() {
                        return CloseReason::ConsumerGone;
                    }
                    return CloseReason::Framing(reason);
                }
            };
            match framed {
                Frame::Incomplete => {
                    if buf.len() > max {
                        return CloseReason::TooLarge {
                            size: buf.len(),
                            max,
                        };
                    }
                    // A lone CRLF (a pong, or half a ping) is not a message being
                    // dribbled in; it must not start the slowloris clock.
                    if !is_keepalive_prefix(&buf) {
                        partial_since.get_or_insert_with(Instant::now);
                    }
                    break;
                }
                Frame::KeepAlive { len, ping } => {
                    if len == 0 || len > buf.len() {
                        return impossible_length(len, buf.len());
                    }
                    buf.advance(len);
                    if ping {
                        bump(&shared.counters.keepalive_pings);
                        // A full queue already carries bytes to the peer, which keeps
                        // the flow alive just as well as the pong would.
                        let _ = pong.try_send(Bytes::from_static(PONG));
                    }
                }
                Frame::Message { len } => {
                    if len == 0 || len > buf.len() {
                        return impossible_length(len, buf.len());
                    }
                    if len > max {
                        return CloseReason::TooLarge { size: len, max };
                    }
                    let data = buf.split_to(len).freeze();
                    partial_since = None;
                    bump(&shared.counters.stream_messages_in);
                    if !shared.admit_message(source.remote.ip()) {
                        return CloseReason::Banned;
                    }
                    // Waiting here is the backpressure: a slow consumer slows readers.
                    let event = Event::Message {
                        source,
                        data,
                        received: std::time::Instant::now(),
                    };
                    if events.send(event).await.is_err() {
                        return CloseReason::ConsumerGone;
                    }
                }
            }
        }

        if buf.is_empty() {
            // Between messages the connection holds no read buffer (the messages
            // handed out keep their own bytes); one is made when data is there.
            buf = BytesMut::new();
            if let Err(e) = reader.ready().await {
                return CloseReason::ReadFailed(e);
            }
        }
        buf.reserve(if buf.is_empty() {
            IDLE_READ_CHUNK
        } else {
            READ_CHUNK
        });
        let read = reader.read_buf(&mut buf);
        let result = match partial_since.and_then(|since| since.checked_add(partial_timeout)) {
            Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                Ok(result) => result,
                Err(_) => return CloseReason::PartialTimeout,
            },
            None => read.await,
        };
        match result {
            Ok(0) => return CloseReason::PeerClosed,
            Ok(n) => {
                activity.touch();
                add(&shared.counters.bytes_in, n as u64);
            }
            Err(e) => return CloseReason::ReadFailed(e),
        }
    }
}

/// Whether `buf` holds only the start of CRLF keep-alive traffic.
fn is_keepalive_prefix(buf: &[u8]) -> bool {
    buf.len() < 4 && buf.iter().all(|b| matches!(b, b'\r' | b'\n'))
}

/// A framer answer that would loop forever or slice out of bounds is treated as a
/// framing error rather than trusted.
fn impossible_length(len: usize, buffered: usize) -> CloseReason {
    CloseReason::Framing(format!(
        "framer reported {len} bytes with {buffered} buffered"
    ))
}

/// Writes the rest of the message in hand and what is queued now, without waiting for
/// more.
async fn write_pending<W>(
    shared: &Shared,
    writer: &mut W,
    queue: &mut mpsc::Receiver<Bytes>,
    in_hand: &mut Bytes,
) where
    W: AsyncWrite + Unpin,
{
    loop {
        if write_in_hand(shared, writer, in_hand).await.is_err() {
            return;
        }
        match queue.try_recv() {
            Ok(data) => *in_hand = gather(data, queue),
            Err(_) => break,
        }
    }
    let _ = writer.flush().await;
}

/// Writes `in_hand`, taking each piece the writer accepts off its front: dropped
/// half-way, it leaves exactly what is still to be written.
async fn write_in_hand<W>(shared: &Shared, writer: &mut W, in_hand: &mut Bytes) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    while !in_hand.is_empty() {
        let n = writer.write(in_hand).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        in_hand.advance(n);
        add(&shared.counters.bytes_out, n as u64);
    }
    Ok(())
}

/// `first` with the messages queued behind it, up to about [`WRITE_BATCH`] bytes, as
/// one buffer; a lone message is passed on as it is, without a copy.
fn gather(first: Bytes, queue: &mut mpsc::Receiver<Bytes>) -> Bytes {
    if first.len() >= WRITE_BATCH {
        return first;
    }
    let Ok(second) = queue.try_recv() else {
        return first;
    };
    let mut batch = Vec::with_capacity((first.len() + second.len()).clamp(4096, 2 * WRITE_BATCH));
    batch.extend_from_slice(&first);
    batch.extend_from_slice(&second);
    // The last message taken may overshoot the batch by at most one message.
    while batch.len() < WRITE_BATCH {
        match queue.try_recv() {
            Ok(more) => batch.extend_from_slice(&more),
            Err(_) => break,
        }
    }
    Bytes::from(batch)
}

/// Reads until the peer closes its side (or fails).
async fn discard_until_eof<R>(reader: &mut R)
where
    R: AsyncRead + Unpin,
{
    // On the heap: an array here would be part of every connection task's state (the
    // task is as large as its largest state), idle or not.
    let mut sink = vec![0u8; 4096];
    while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// Writes queued messages, coalescing whatever is queued into one flush. The message
/// being written is kept in `in_hand` (see [`write_in_hand`]).
async fn write_queued<W>(
    shared: &Shared,
    writer: &mut W,
    queue: &mut mpsc::Receiver<Bytes>,
    in_hand: &mut Bytes,
    activity: &Activity,
) -> CloseReason
where
    W: AsyncWrite + Unpin,
{
    loop {
        if in_hand.is_empty() {
            match queue.recv().await {
                Some(data) => *in_hand = gather(data, queue),
                // Every sender is gone, which only happens once the flow left the table.
                None => return CloseReason::Requested,
            }
        }
        loop {
            if let Err(e) = write_in_hand(shared, writer, in_hand).await {
                return CloseReason::WriteFailed(e);
            }
            activity.touch();
            match queue.try_recv() {
                Ok(data) => *in_hand = gather(data, queue),
                Err(_) => break,
            }
        }
        if let Err(e) = writer.flush().await {
            return CloseReason::WriteFailed(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lone_message_is_passed_on_without_a_copy() {
        let (_tx, mut rx) = mpsc::channel::<Bytes>(4);
        let first = Bytes::from_static(b"INVITE");
        let gathered = gather(first.clone(), &mut rx);
        assert_eq!(gathered.as_ptr(), first.as_ptr());
    }

    #[tokio::test]
    async fn a_burst_leaves_as_one_buffer_in_order_and_bounded() {
        let (tx, mut rx) = mpsc::channel::<Bytes>(64);
        for i in 0u8..40 {
            tx.try_send(Bytes::from(vec![i; 4096])).expect("room");
        }
        let first = rx.try_recv().expect("first");
        let batch = gather(first, &mut rx);
        // 16 messages of 4 KiB fill the batch; the rest waits for the next write.
        assert_eq!(batch.len(), WRITE_BATCH);
        for (i, chunk) in batch.chunks(4096).enumerate() {
            assert!(chunk.iter().all(|&b| usize::from(b) == i), "chunk {i}");
        }
        let next = rx.try_recv().expect("left queued");
        assert_eq!(next.first(), Some(&16));
    }
}
#[cfg(test)]
mod task_size {
    use super::*;

    /// The size of the future `f` returns, without making one.
    fn size_of_return<A, F: std::future::Future>(_: impl FnOnce(A) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every open connection holds its task; a 4 KiB array in a rarely reached state
    /// or a TLS stream kept as an argument once made it more than twice this.
    #[test]
    fn a_connection_task_stays_small() {
        type Args<S> = (Arc<Shared>, Source, FlowId, Box<S>, ConnectionIo);
        let tcp = size_of_return(|(a, b, c, d, e): Args<tokio::net::TcpStream>| run(a, b, c, d, e));
        let tls = size_of_return(
            |(a, b, c, d, e): Args<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>| {
                run(a, b, c, d, e)
            },
        );
        assert!(tcp <= 2560, "TCP connection task: {tcp} bytes");
        assert!(tls <= 2560, "TLS connection task: {tls} bytes");
    }
}
