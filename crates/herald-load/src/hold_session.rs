//! SIP over one held connection: REGISTER with digest authentication, CRLF keep-alive
//! pings (RFC 5626 §3.5.1), and reading what the server sends (responses, pongs, its
//! own requests, which get a 200).
//!
//! A held connection carries one request at a time, so no routing table is needed:
//! the response whose Call-ID and CSeq match is the one waited for.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use herald_sip::framing::{Frame, frame};
use herald_sip::message::ParseLimits;
use herald_sip::{HeaderName, Message, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::digest::{DigestSession, pick_challenge};
use crate::requests::token;

/// Largest message accepted from the server.
const MAX_MESSAGE: usize = 65_535;
/// Read room made while idle: a REGISTER answer fits; bigger messages grow it.
const READ_ROOM: usize = 2048;
/// The RFC 5626 double-CRLF ping.
const PING: &[u8] = b"\r\n\r\n";
/// Challenges answered for one REGISTER before its challenge is taken as final.
const MAX_CHALLENGES: u32 = 2;

/// A byte stream (plain TCP or TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Why a request or the connection failed; the names are the report's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No final response in time.
    Timeout,
    /// The server closed the connection.
    Closed,
    /// Reading or writing failed.
    Io,
    /// The stream could not be framed or a message not parsed.
    Garbage,
    /// A final response other than 2xx (after the challenges were answered).
    Status(u16),
    /// A challenge this client cannot answer.
    BadChallenge,
}

impl Failure {
    /// The key under which the report counts this failure.
    pub fn kind(&self) -> String {
        match self {
            Failure::Timeout => "timeout".into(),
            Failure::Closed => "closed".into(),
            Failure::Io => "io".into(),
            Failure::Garbage => "garbage".into(),
            Failure::Status(status) => status.to_string(),
            Failure::BadChallenge => "bad_challenge".into(),
        }
    }
}

/// Something the server sent.
enum Incoming {
    /// A single CRLF: the answer to a ping.
    Pong,
    /// A response.
    Response(Response),
    /// A request, already answered with 200.
    Request,
}

/// Counts kept by one session, added to the run's totals by the caller.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionCounts {
    /// Pongs read.
    pub pongs: u64,
    /// Requests the server sent (answered with 200).
    pub server_requests: u64,
    /// Challenges answered.
    pub challenges: u64,
}

/// Who registers on this connection, and how.
#[derive(Debug, Clone)]
pub struct Registration {
    /// `sip:user@domain`.
    pub aor: String,
    /// `sip:domain` (the Request-URI and digest-uri).
    pub registrar: String,
    /// The user part (digest username).
    pub user: String,
    /// The user's password.
    pub password: String,
    /// `Expires` asked for.
    pub expires: u32,
    /// `TCP` or `TLS`, for Via and the Contact's transport parameter.
    pub transport: &'static str,
}

/// One held connection's SIP state.
pub struct Session<S> {
    stream: S,
    buf: BytesMut,
    local: SocketAddr,
    registration: Registration,
    digest: DigestSession,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// Running counts.
    pub counts: SessionCounts,
}

impl<S: Io> Session<S> {
    /// A session on an open stream whose local address is `local`.
    pub fn new(stream: S, local: SocketAddr, registration: Registration) -> Self {
        Session {
            stream,
            buf: BytesMut::new(),
            local,
            digest: DigestSession::new(registration.user.clone()),
            registration,
            call_id: token(),
            from_tag: token(),
            cseq: 0,
            counts: SessionCounts::default(),
        }
    }

    /// Registers (or refreshes the registration), answering up to two challenges;
    /// credentials go up front once a nonce is known. Pongs and server requests
    /// read meanwhile are counted.
    pub async fn register(&mut self, timeout: Duration) -> Result<(), Failure> {
        let deadline = Instant::now() + timeout;
        let mut challenges = 0;
        loop {
            self.cseq += 1;
            let authorization =
                self.digest
                    .authorization("REGISTER", &self.registration.registrar, &token());
            let request = self.register_request(authorization.as_deref());
            self.write(&request).await?;
            let response = self.response_to(self.cseq, deadline).await?;
            match response.status {
                200..=299 => return Ok(()),
                401 if challenges < MAX_CHALLENGES => {
                    challenges += 1;
                    self.counts.challenges += 1;
                    let challenge = pick_challenge(
                        response
                            .headers
                            .get_all(&HeaderName::WwwAuthenticate)
                            .map(|v| v.as_str()),
                    )
                    .ok_or(Failure::BadChallenge)?;
                    self.digest.accept(challenge, &self.registration.password);
                }
                status => return Err(Failure::Status(status)),
            }
        }
    }

    /// Sends a double-CRLF ping; its pong is counted when read.
    pub async fn ping(&mut self) -> Result<(), Failure> {
        self.write(PING).await
    }

    /// Reads and handles whatever the server sends until `until`; Ok at `until`.
    /// Cancel-safe: what was read stays buffered.
    pub async fn idle_until(&mut self, until: Instant) -> Result<(), Failure> {
        loop {
            match tokio::time::timeout_at(until, self.next_incoming()).await {
                Err(_) => return Ok(()),
                // A late response to a request that timed out: nothing waits for it.
                Ok(Ok(Incoming::Response(_) | Incoming::Pong | Incoming::Request)) => {}
                Ok(Err(failure)) => return Err(failure),
            }
        }
    }

    /// Closes the sending side (TLS close_notify, then FIN), best effort.
    pub async fn close(&mut self, grace: Duration) {
        let _ = tokio::time::timeout(grace, self.stream.shutdown()).await;
    }

    fn register_request(&self, authorization: Option<&str>) -> Bytes {
        let r = &self.registration;
        let mut text = String::with_capacity(640);
        // Writing into a String cannot fail.
        let _ = write!(
            text,
            "REGISTER {registrar} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch=z9hG4bK{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{aor}>;tag={tag}\r\n\
             To: <{aor}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{local};transport={transport_param}>\r\n\
             Expires: {expires}\r\n\
             User-Agent: herald-load hold\r\n",
            registrar = r.registrar,
            transport = r.transport,
            transport_param = r.transport.to_ascii_lowercase(),
            local = self.local,
            branch = token(),
            aor = r.aor,
            tag = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
            user = r.user,
            expires = r.expires,
        );
        if let Some(authorization) = authorization {
            let _ = write!(text, "Authorization: {authorization}\r\n");
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        Bytes::from(text)
    }

    /// Waits for the final response to our request `cseq` of this session's Call-ID.
    async fn response_to(&mut self, cseq: u32, deadline: Instant) -> Result<Response, Failure> {
        loop {
            let incoming = tokio::time::timeout_at(deadline, self.next_incoming())
                .await
                .map_err(|_| Failure::Timeout)??;
            let Incoming::Response(response) = incoming else {
                continue;
            };
            let ours = response
                .headers
                .get(&HeaderName::CallId)
                .map(|v| v.as_str())
                == Some(self.call_id.as_str())
                && response.cseq().is_ok_and(|c| c.seq == cseq);
            if ours && response.status >= 200 {
                return Ok(response);
            }
        }
    }

    /// The next thing the server sent. Only the read awaits, so dropping this future
    /// loses nothing.
    async fn next_incoming(&mut self) -> Result<Incoming, Failure> {
        loop {
            if let Some(incoming) = self.take_buffered().await? {
                return Ok(incoming);
            }
            if self.buf.capacity() - self.buf.len() < READ_ROOM / 2 {
                self.buf.reserve(READ_ROOM);
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Err(Failure::Closed),
                Ok(_) => {}
                Err(_) => return Err(Failure::Io),
            }
        }
    }

    /// One complete item from the front of the buffer, if there is one.
    async fn take_buffered(&mut self) -> Result<Option<Incoming>, Failure> {
        // This client never pings twice without reading the pong, so any CRLF at the
        // front is a pong (a lone CRLF would otherwise wait for more bytes).
        if self.buf.starts_with(b"\r\n") {
            self.buf.advance(2);
            self.counts.pongs += 1;
            self.release_if_empty();
            return Ok(Some(Incoming::Pong));
        }
        let len = match frame(&self.buf, MAX_MESSAGE) {
            Ok(Frame::Incomplete) => {
                if self.buf.len() > MAX_MESSAGE {
                    return Err(Failure::Garbage);
                }
                return Ok(None);
            }
            Ok(Frame::KeepAlive { len, .. } | Frame::Message { len }) => len,
            Err(_) => return Err(Failure::Garbage),
        };
        if len == 0 || len > self.buf.len() {
            return Err(Failure::Garbage);
        }
        let bytes = self.buf.split_to(len).freeze();
        self.release_if_empty();
        let limits = ParseLimits {
            max_message_size: MAX_MESSAGE,
            ..ParseLimits::default()
        };
        match Message::parse(bytes, &limits) {
            Ok(Message::Response(response)) => Ok(Some(Incoming::Response(response))),
            Ok(Message::Request(request)) => {
                self.counts.server_requests += 1;
                let ok = crate::requests::ok_to(&request);
                self.write(&ok).await?;
                Ok(Some(Incoming::Request))
            }
            Err(_) => Err(Failure::Garbage),
        }
    }

    /// An idle connection holds no read buffer (this tool holds 100 000 of them).
    fn release_if_empty(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|_| Failure::Io)?;
        self.stream.flush().await.map_err(|_| Failure::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};

    fn registration() -> Registration {
        Registration {
            aor: "sip:u000007@bench.test".into(),
            registrar: "sip:bench.test".into(),
            user: "u000007".into(),
            password: "secret".into(),
            expires: 120,
            transport: "TCP",
        }
    }

    /// Reads one request (headers only: REGISTER has no body) from the fake server.
    async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = r.read_line(&mut line).await.expect("read");
            assert!(n > 0, "client closed early: {text:?}");
            text.push_str(&line);
            if line == "\r\n" {
                return text;
            }
        }
    }

    fn header<'a>(request: &'a str, name: &str) -> &'a str {
        request
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
            .unwrap_or_else(|| panic!("no {name} in {request}"))
    }

    fn answer(request: &str, status: &str, extra: &str) -> String {
        format!(
            "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
            header(request, "Via"),
            header(request, "From"),
            header(request, "To"),
            header(request, "Call-ID"),
            header(request, "CSeq"),
        )
    }

    /// The fake registrar checks the credentials with herald-auth's own verifier.
    #[tokio::test]
    async fn registers_through_a_challenge_then_refreshes_with_the_same_nonce() {
        let (client, server) = tokio::io::duplex(16 * 1024);
        let local: SocketAddr = "127.0.0.2:40000".parse().expect("addr");
        let registrar = tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(server);
            let mut read = BufReader::new(read);
            let first = read_request(&mut read).await;
            assert!(!first.contains("Authorization"), "{first}");
            assert!(
                first.contains("Contact: <sip:u000007@127.0.0.2:40000;transport=tcp>"),
                "{first}"
            );
            assert!(first.contains("Expires: 120"), "{first}");
            let challenge = "WWW-Authenticate: Digest realm=\"bench.test\", nonce=\"n1\", qop=\"auth\", algorithm=MD5\r\n";
            write
                .write_all(answer(&first, "401 Unauthorized", challenge).as_bytes())
                .await
                .expect("write");
            let mut nonce_counts = Vec::new();
            for _ in 0..2 {
                let request = read_request(&mut read).await;
                let value = header(&request, "Authorization");
                let credentials = herald_auth::parse_credentials(value).expect("credentials");
                let ha1 = herald_auth::ha1(
                    herald_auth::Algorithm::Md5,
                    "u000007",
                    "bench.test",
                    "secret",
                );
                assert!(
                    herald_auth::verify_response(&credentials, &ha1, "REGISTER"),
                    "{value}"
                );
                nonce_counts.push(credentials.nc);
                // A pong and a server request before the answer must not confuse it.
                write.write_all(b"\r\n").await.expect("write");
                write
                    .write_all(
                        b"OPTIONS sip:u000007@127.0.0.2:40000 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
                          From: <sip:bench.test>;tag=a\r\nTo: <sip:u000007@bench.test>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\
                          Content-Length: 0\r\n\r\n",
                    )
                    .await
                    .expect("write");
                let ok_to_options = read_request(&mut read).await;
                assert!(ok_to_options.starts_with("SIP/2.0 200"), "{ok_to_options}");
                write
                    .write_all(answer(&request, "200 OK", "").as_bytes())
                    .await
                    .expect("write");
            }
            nonce_counts
        });
        let mut session = Session::new(client, local, registration());
        session
            .register(Duration::from_secs(5))
            .await
            .expect("registered");
        session
            .register(Duration::from_secs(5))
            .await
            .expect("refreshed");
        assert_eq!(session.counts.challenges, 1);
        assert_eq!(session.counts.pongs, 2);
        assert_eq!(session.counts.server_requests, 2);
        assert_eq!(
            registrar.await.expect("registrar"),
            vec![Some(1), Some(2)],
            "the refresh reuses the nonce with the next count"
        );
    }

    #[tokio::test]
    async fn a_refusal_and_silence_are_failures() {
        let (client, server) = tokio::io::duplex(16 * 1024);
        let local: SocketAddr = "127.0.0.2:40001".parse().expect("addr");
        let registrar = tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(server);
            let mut read = BufReader::new(read);
            let first = read_request(&mut read).await;
            write
                .write_all(answer(&first, "403 Forbidden", "").as_bytes())
                .await
                .expect("write");
            // Read the second REGISTER and never answer it.
            let _ = read_request(&mut read).await;
            (read, write)
        });
        let mut session = Session::new(client, local, registration());
        assert_eq!(
            session.register(Duration::from_secs(5)).await,
            Err(Failure::Status(403))
        );
        assert_eq!(
            session.register(Duration::from_millis(200)).await,
            Err(Failure::Timeout)
        );
        let (_read, write) = registrar.await.expect("registrar");
        drop(write);
        drop(_read);
        let until = Instant::now() + Duration::from_secs(5);
        assert_eq!(session.idle_until(until).await, Err(Failure::Closed));
    }
}
