//! How a connection's stream splits into a reading and a writing half, and how the
//! reading half waits for data without holding a buffer.
//!
//! Most connections sit idle most of the time; a read buffer reserved while waiting
//! would be held by every one of them. A plain TCP half can wait for readiness first
//! and reserve only when bytes are there. A TLS half cannot (rustls may already hold
//! decrypted bytes the socket's readiness does not show), so it reserves as before.
use std::future::Future;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// A connection's byte stream, as the connection task uses it.
pub(crate) trait SplitStream: Send + 'static {
    /// The reading half.
    type Reader: ReadReady;
    /// The writing half.
    type Writer: AsyncWrite + Send + Unpin + 'static;
    /// Splits the stream.
    fn split_halves(self) -> (Self::Reader, Self::Writer);
}

/// A reading half that can tell when a read would not wait.
pub(crate) trait ReadReady: AsyncRead + Send + Unpin + 'static {
    /// Resolves when a read may find data, end of stream or an error (possibly
    /// spuriously: the read that follows may still wait).
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}

impl SplitStream for TcpStream {
    type Reader = OwnedReadHalf;
    type Writer = OwnedWriteHalf;

    fn split_halves(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl ReadReady for OwnedReadHalf {
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        self.readable()
    }
}

/// A TLS stream split by tokio's generic splitter.
macro_rules! tls_stream {
    ($stream:ty) => {
        impl SplitStream for $stream {
            type Reader = ReadHalf<$stream>;
            type Writer = WriteHalf<$stream>;

            fn split_halves(self) -> (Self::Reader, Self::Writer) {
                tokio::io::split(self)
            }
        }

        impl ReadReady for ReadHalf<$stream> {
            fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send {
                std::future::ready(Ok(()))
            }
        }
    };
}

tls_stream!(tokio_rustls::server::TlsStream<TcpStream>);
tls_stream!(tokio_rustls::client::TlsStream<TcpStream>);

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Readiness as tokio tracks it: a fresh socket may look readable once (the first
    /// read then waits, as before); after a read that drained the socket, `ready`
    /// waits for the next bytes, which is what an idle connection does.
    #[tokio::test]
    async fn a_drained_tcp_half_is_ready_only_once_bytes_arrive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let (mut reader, _writer) = server.split_halves();
        let mut buf = [0u8; 16];
        client.write_all(b"REGISTER").await.expect("write");
        let n = reader.read(&mut buf).await.expect("read");
        assert_eq!(buf.get(..n), Some(&b"REGISTER"[..]));
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            ReadReady::ready(&mut reader),
        )
        .await;
        assert!(early.is_err(), "ready with nothing to read");
        client.write_all(b"OPTIONS").await.expect("write");
        ReadReady::ready(&mut reader).await.expect("ready");
        let n = reader.read(&mut buf).await.expect("read");
        assert_eq!(buf.get(..n), Some(&b"OPTIONS"[..]));
    }
}
