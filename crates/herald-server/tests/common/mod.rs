//! Harness for end-to-end tests through the whole server on loopback: a server on
//! ephemeral ports over a SQLite store, and SIP endpoints on raw UDP sockets or TCP
//! streams that register with digest and then play caller or device by hand.
//!
//! Received messages are read by a small text reader of its own ([`Sip`]) rather than
//! the server's parser, so a parser bug cannot hide itself. Every receive is bounded
//! by a timeout; a missing message fails the test with what did arrive.
use herald_auth::Algorithm;
use herald_im::ImConfig;
use herald_presence::PresenceConfig;
use herald_server::{Server, ServerConfig};
use herald_store::{NewUser, SharedStore, SqliteStore, Store};
use herald_transport::{ListenSpec, Transport};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

pub const DOMAIN: &str = "example.com";
/// How long an expected message may take. Generous: the machine is shared.
pub const WAIT: Duration = Duration::from_secs(5);
/// The users every test server knows, with their passwords.
pub const USERS: &[(&str, &str)] = &[
    ("alice", "wonderland"),
    ("bob", "builder"),
    ("carol", "singer"),
];

/// Short timeouts so that the "no device answered" cases finish quickly.
pub fn im_config() -> ImConfig {
    ImConfig {
        message_timeout: Duration::from_secs(2),
        invite_timeout: Duration::from_secs(10),
        max_body_bytes: 1000,
        ..ImConfig::default()
    }
}

/// A short notify interval so that coalescing shows within a test's patience.
pub fn presence_config() -> PresenceConfig {
    PresenceConfig {
        notify_interval: Duration::from_millis(200),
        ..PresenceConfig::default()
    }
}

/// Adds alice, bob and carol to a fresh store.
pub async fn add_users(store: &SqliteStore) {
    for (user, pw) in USERS {
        store
            .add_user(NewUser {
                username: (*user).into(),
                domain: DOMAIN.into(),
                display_name: None,
                ha1_md5: herald_auth::ha1(Algorithm::Md5, user, DOMAIN, pw),
                ha1_sha256: herald_auth::ha1(Algorithm::Sha256, user, DOMAIN, pw),
            })
            .await
            .expect("test user added");
    }
}

pub fn password(user: &str) -> &'static str {
    USERS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, pw)| *pw)
        .unwrap_or("no-such-password")
}

/// A running server and where it listens.
pub struct TestServer {
    pub server: Server,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    /// The same database the server uses (a pool clone), to look into it.
    pub store: SqliteStore,
}

impl TestServer {
    /// A server over a fresh in-memory store holding [`USERS`].
    pub async fn start(im: ImConfig) -> TestServer {
        let store = SqliteStore::open_in_memory()
            .await
            .expect("in-memory store");
        add_users(&store).await;
        TestServer::start_on(store, im).await
    }

    /// A server over `store` (already holding its users), UDP and TCP on 127.0.0.1.
    pub async fn start_on(store: SqliteStore, im: ImConfig) -> TestServer {
        TestServer::start_with(store, im, presence_config()).await
    }

    /// A server over `store` with these IM and presence settings.
    pub async fn start_with(
        store: SqliteStore,
        im: ImConfig,
        presence: PresenceConfig,
    ) -> TestServer {
        let cfg = ServerConfig {
            domains: vec![DOMAIN.into()],
            workers: 4,
            im,
            presence,
            ..ServerConfig::default()
        };
        TestServer::start_config(store, cfg).await
    }

    /// A server over `store` with `cfg`, UDP and TCP on 127.0.0.1 (ports chosen here).
    pub async fn start_config(store: SqliteStore, mut cfg: ServerConfig) -> TestServer {
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
        cfg.transport.listen = vec![
            ListenSpec {
                transport: Transport::Udp,
                addr: any_port,
            },
            ListenSpec {
                transport: Transport::Tcp,
                addr: any_port,
            },
        ];
        let shared: SharedStore = Arc::new(store.clone());
        let server = Server::start(cfg, shared).await.expect("server starts");
        let addrs = server.local_addrs();
        let find = |t: Transport| {
            addrs
                .iter()
                .find(|l| l.transport == t)
                .map(|l| l.addr)
                .expect("listener of the transport")
        };
        let (udp, tcp) = (find(Transport::Udp), find(Transport::Tcp));
        TestServer {
            server,
            udp,
            tcp,
            store,
        }
    }

    /// A UDP endpoint of `user` talking to this server.
    pub async fn udp(&self, user: &str) -> Endpoint {
        Endpoint::udp(self.udp, user).await
    }

    /// A TCP endpoint of `user` connected to this server.
    pub async fn tcp(&self, user: &str) -> Endpoint {
        Endpoint::tcp(self.tcp, user).await
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A token unique within the test process (tags, branches, Call-IDs).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        UNIQUE.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    )
}

// ---------------------------------------------------------------------------------
// Reading SIP text

/// One received SIP message, read independently of the server's parser.
#[derive(Clone, Debug)]
pub struct Sip {
    /// The whole message, for failure output.
    pub text: String,
    start: String,
    /// (canonical lower-case long name, value), in order, list values split.
    headers: Vec<(String, String)>,
    pub body: String,
}

/// Long form of the compact header names of RFC 3261 §7.3.3 (and a few extensions).
fn canonical(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let long = match lower.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "k" => "supported",
        "s" => "subject",
        "e" => "content-encoding",
        "o" => "event",
        other => other,
    };
    long.to_owned()
}

/// Headers whose comma-separated values are separate entries (§7.3.1).
const LIST_HEADERS: &[&str] = &["via", "route", "record-route", "contact"];

/// Splits a header value at commas outside quotes and angle brackets.
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped, mut angle) = (false, false, 0u32);
    for ch in value.chars() {
        if quoted {
            cur.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                quoted = false;
            }
            continue;
        }
        match ch {
            '"' => quoted = true,
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            ',' if angle == 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

impl Sip {
    pub fn parse(bytes: &[u8]) -> Sip {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of headers in:\n{text}"));
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        for line in lines {
            assert!(
                !line.starts_with([' ', '\t']),
                "folded header line (servers should not fold):\n{text}"
            );
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("header line without colon {line:?} in:\n{text}"));
            let name = canonical(name);
            if LIST_HEADERS.contains(&name.as_str()) {
                for v in split_list(value) {
                    headers.push((name.clone(), v));
                }
            } else {
                headers.push((name, value.trim().to_owned()));
            }
        }
        Sip {
            body: body.to_owned(),
            start,
            headers,
            text,
        }
    }

    pub fn is_request(&self) -> bool {
        !self.start.starts_with("SIP/2.0 ")
    }

    /// The method of a request; "" for a response.
    pub fn method(&self) -> &str {
        if self.is_request() {
            self.start.split(' ').next().unwrap_or_default()
        } else {
            ""
        }
    }

    /// The Request-URI of a request.
    pub fn uri(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    /// The status of a response; 0 for a request.
    pub fn status(&self) -> u16 {
        if self.is_request() {
            return 0;
        }
        self.start
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Every value of a header (list headers split), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        let name = canonical(name);
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().next()
    }

    /// A header that must be there.
    pub fn must(&self, name: &str) -> String {
        self.get(name)
            .unwrap_or_else(|| panic!("no {name} header in:\n{}", self.text))
    }

    /// The CSeq number and method.
    pub fn cseq(&self) -> (u32, String) {
        let v = self.must("CSeq");
        let (n, m) = v
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad CSeq {v:?}"));
        (
            n.trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad CSeq {v:?}")),
            m.trim().to_owned(),
        )
    }

    /// The tag parameter of From or To.
    pub fn tag(&self, name: &str) -> Option<String> {
        tag_of(&self.must(name))
    }

    /// The branch of the top Via.
    pub fn top_branch(&self) -> String {
        let via = self.must("Via");
        param(&via, "branch").unwrap_or_else(|| panic!("Via without branch: {via}"))
    }

    /// Whether the body is as long as Content-Length says (not a truncated read).
    fn body_complete(&self) -> bool {
        let want: usize = self
            .get("Content-Length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        self.body.len() >= want
    }
}

/// The value of `name` among the `;` parameters of a header value or URI.
pub fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_end_matches('>').to_owned())
    })
}

/// The tag of a From/To value (a parameter of the header, after the URI).
pub fn tag_of(value: &str) -> Option<String> {
    let params = match value.rfind('>') {
        Some(i) => value.get(i + 1..).unwrap_or_default(),
        None => value,
    };
    param(&format!("x{params}"), "tag")
}

/// The URI of a name-addr (`"Name" <uri>;params`) or addr-spec value.
pub fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value.get(a + 1..b).unwrap_or_default().to_owned(),
        _ => value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// Credentials for a challenge of `alg` found in `header` of `challenge`.
pub struct Digest<'a> {
    pub header: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nc: u32,
}

/// The parameters of the challenge for `alg` in a 401/407 (nonce, opaque).
pub fn challenge_params(resp: &Sip, header: &str, alg: Algorithm) -> (String, String) {
    let wanted = format!("algorithm={}", alg.as_str());
    let ch = resp
        .all(header)
        .into_iter()
        .find(|c| c.contains(&wanted))
        .unwrap_or_else(|| panic!("no {header} for {wanted} in:\n{}", resp.text));
    let quoted = |name: &str| -> String {
        let key = format!("{name}=\"");
        let start = ch.find(&key).unwrap_or_else(|| panic!("no {name} in {ch}")) + key.len();
        let rest = ch.get(start..).unwrap_or_default();
        rest.split('"').next().unwrap_or_default().to_owned()
    };
    (quoted("nonce"), quoted("opaque"))
}

/// An Authorization/Proxy-Authorization header line (with CRLF) answering
/// `nonce`/`opaque` for `d`, computed with SHA-256.
pub fn authorization(d: &Digest, nonce: &str, opaque: &str) -> String {
    let alg = Algorithm::Sha256;
    let creds = herald_auth::Credentials {
        username: d.user.into(),
        realm: DOMAIN.into(),
        nonce: nonce.into(),
        uri: d.uri.into(),
        response: String::new(),
        algorithm: alg,
        cnonce: Some("0a4f113b".into()),
        qop: Some("auth".into()),
        nc: Some(d.nc),
        opaque: Some(opaque.into()),
        userhash: false,
    };
    let ha1 = herald_auth::ha1(alg, d.user, DOMAIN, d.password);
    let response = herald_auth::expected_response(&creds, &ha1, d.method);
    format!(
        "{}: Digest username=\"{}\", realm=\"{DOMAIN}\", nonce=\"{nonce}\", uri=\"{}\", \
         response=\"{response}\", algorithm={}, cnonce=\"0a4f113b\", qop=auth, nc={:08x}, opaque=\"{opaque}\"\r\n",
        d.header,
        d.user,
        d.uri,
        alg.as_str(),
        d.nc
    )
}

// ---------------------------------------------------------------------------------
// Endpoints

enum Io {
    Udp { sock: UdpSocket, server: SocketAddr },
    Tcp { stream: TcpStream, buf: Vec<u8> },
}

/// A SIP endpoint of one user on one socket: a caller, a device, or both.
pub struct Endpoint {
    io: Io,
    pub user: String,
    /// "UDP" or "TCP" (Via transport).
    transport: &'static str,
    local: SocketAddr,
    /// Its Contact URI.
    pub contact: String,
    /// Nonce and opaque of the last proxy challenge, and the nonce count used last.
    proxy_nonce: Option<(String, String)>,
    nc: u32,
    /// (branch, method) of requests already returned: retransmissions are skipped.
    seen: HashSet<String>,
    register_call_id: String,
    register_cseq: u32,
}

/// The parts of an out-of-dialog MESSAGE that tests vary.
pub struct Pager<'a> {
    /// The recipient's AOR (`user@domain`).
    pub to: &'a str,
    /// The From user, when not the endpoint's own.
    pub from_user: Option<&'a str>,
    pub content_type: &'a str,
    pub body: &'a str,
    /// Send Proxy-Authorization (fetching a challenge first if needed).
    pub authenticate: bool,
    pub max_forwards: u32,
}

impl<'a> Pager<'a> {
    /// An authenticated text/plain MESSAGE.
    pub fn text(to: &'a str, body: &'a str) -> Pager<'a> {
        Pager {
            to,
            from_user: None,
            content_type: "text/plain",
            body,
            authenticate: true,
            max_forwards: 70,
        }
    }
}

/// The RFC 3994 body of a typing indication.
pub const TYPING_BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>active</state>\
<contenttype>text/plain</contenttype></isComposing>";
pub const TYPING_TYPE: &str = "application/im-iscomposing+xml";

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=message 9 TCP/MSRP *\r\n";

/// One side's view of a dialog (RFC 3261 §12): what goes into its requests.
#[derive(Clone, Debug)]
pub struct Session {
    pub call_id: String,
    /// Our From value (with our tag).
    pub local: String,
    /// The peer's value for To (with its tag once known).
    pub remote: String,
    /// Request-URI of in-dialog requests: the peer's Contact.
    pub target: String,
    /// Route set, in the order Route headers are written.
    pub route: Vec<String>,
    /// Our last CSeq number.
    pub cseq: u32,
    /// Branch of the INVITE (for CANCEL and the ACK of a non-2xx).
    pub invite_branch: String,
    pub invite_cseq: u32,
}

impl Session {
    /// The caller's view once the 2xx arrived: the callee's tag and Contact, the route
    /// set as the Record-Route reversed (§12.1.2).
    pub fn confirmed_by(&mut self, ok: &Sip) {
        self.remote = ok.must("To");
        self.target = uri_of(&ok.must("Contact"));
        let mut rr = ok.all("Record-Route");
        rr.reverse();
        self.route = rr;
    }

    /// The callee's view of the INVITE `req` it answers with tag `tag`: the route set
    /// is the Record-Route in order (§12.1.1).
    pub fn answering(req: &Sip, tag: &str, cseq: u32) -> Session {
        Session {
            call_id: req.must("Call-ID"),
            local: format!("{};tag={tag}", req.must("To")),
            remote: req.must("From"),
            target: uri_of(&req.must("Contact")),
            route: req.all("Record-Route"),
            cseq,
            invite_branch: String::new(),
            invite_cseq: 0,
        }
    }
}

impl Endpoint {
    pub async fn udp(server: SocketAddr, user: &str) -> Endpoint {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("UDP bind");
        let local = sock.local_addr().expect("UDP local address");
        Endpoint::new(Io::Udp { sock, server }, "UDP", local, user)
    }

    pub async fn tcp(server: SocketAddr, user: &str) -> Endpoint {
        let stream = TcpStream::connect(server).await.expect("TCP connect");
        let local = stream.local_addr().expect("TCP local address");
        let io = Io::Tcp {
            stream,
            buf: Vec::new(),
        };
        Endpoint::new(io, "TCP", local, user)
    }

    fn new(io: Io, transport: &'static str, local: SocketAddr, user: &str) -> Endpoint {
        let suffix = if transport == "TCP" {
            ";transport=tcp"
        } else {
            ""
        };
        Endpoint {
            io,
            user: user.to_owned(),
            transport,
            local,
            contact: format!("sip:{user}@{local}{suffix}"),
            proxy_nonce: None,
            nc: 0,
            seen: HashSet::new(),
            register_call_id: unique("reg-"),
            register_cseq: 0,
        }
    }

    pub fn via(&self, branch: &str) -> String {
        format!(
            "Via: SIP/2.0/{} {};rport;branch={branch}\r\n",
            self.transport, self.local
        )
    }

    pub async fn send(&mut self, msg: &str) {
        match &mut self.io {
            Io::Udp { sock, server } => {
                sock.send_to(msg.as_bytes(), *server)
                    .await
                    .expect("UDP send");
            }
            Io::Tcp { stream, .. } => stream.write_all(msg.as_bytes()).await.expect("TCP send"),
        }
    }

    /// The next message within `wait`, skipping 100 Trying and retransmitted requests.
    pub async fn recv(&mut self, wait: Duration) -> Option<Sip> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.read_one())
                .await
                .ok()?;
            if msg.status() == 100 {
                continue;
            }
            if msg.is_request() {
                let key = format!("{} {}", msg.top_branch(), msg.method());
                if !self.seen.insert(key) {
                    continue;
                }
            }
            return Some(msg);
        }
    }

    async fn read_one(&mut self) -> Sip {
        match &mut self.io {
            Io::Udp { sock, .. } => {
                let mut buf = vec![0u8; 65536];
                let n = sock.recv(&mut buf).await.expect("UDP receive");
                let msg = Sip::parse(buf.get(..n).unwrap_or_default());
                assert!(msg.body_complete(), "truncated datagram:\n{}", msg.text);
                msg
            }
            Io::Tcp { stream, buf } => loop {
                if let Some(msg) = take_framed(buf) {
                    return msg;
                }
                let mut chunk = vec![0u8; 65536];
                let n = stream.read(&mut chunk).await.expect("TCP receive");
                if n == 0 {
                    // Closed by the server: nothing more will come.
                    std::future::pending::<()>().await;
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            },
        }
    }

    /// The next message; fails the test when none comes within [`WAIT`].
    pub async fn expect(&mut self, what: &str) -> Sip {
        match self.recv(WAIT).await {
            Some(m) => m,
            None => panic!("{}: no {what} within {WAIT:?}", self.user),
        }
    }

    /// The next message must be a `method` request.
    pub async fn expect_request(&mut self, method: &str) -> Sip {
        let m = self.expect(method).await;
        assert!(
            m.is_request() && m.method() == method,
            "{}: expected a {method}, got:\n{}",
            self.user,
            m.text
        );
        m
    }

    /// The next message must be a response to `method` (100 Trying is passed over).
    pub async fn expect_response(&mut self, method: &str) -> Sip {
        let m = self.expect(&format!("response to {method}")).await;
        assert!(
            !m.is_request() && m.cseq().1 == method,
            "{}: expected a response to {method}, got:\n{}",
            self.user,
            m.text
        );
        m
    }

    /// Nothing at all arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration, why: &str) {
        if let Some(m) = self.recv(wait).await {
            panic!("{}: {why}, but got:\n{}", self.user, m.text);
        }
    }

    // ------------------------------------------------------------- registration

    /// REGISTERs the Contact for `expires` seconds, answering the challenge; returns
    /// the final response (200 expected).
    pub async fn register(&mut self, expires: u32) -> Sip {
        let first = self.register_once(expires, "").await;
        assert_eq!(first.status(), 401, "REGISTER challenged:\n{}", first.text);
        let (nonce, opaque) = challenge_params(&first, "WWW-Authenticate", Algorithm::Sha256);
        let uri = format!("sip:{DOMAIN}");
        let auth = authorization(
            &Digest {
                header: "Authorization",
                user: &self.user.clone(),
                password: password(&self.user),
                method: "REGISTER",
                uri: &uri,
                nc: 1,
            },
            &nonce,
            &opaque,
        );
        let ok = self.register_once(expires, &auth).await;
        assert_eq!(ok.status(), 200, "REGISTER accepted:\n{}", ok.text);
        ok
    }

    async fn register_once(&mut self, expires: u32, auth: &str) -> Sip {
        self.register_cseq += 1;
        let (user, cseq) = (self.user.clone(), self.register_cseq);
        let msg = format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\n{}Max-Forwards: 70\r\n\
             From: <sip:{user}@{DOMAIN}>;tag={}\r\nTo: <sip:{user}@{DOMAIN}>\r\n\
             Call-ID: {}\r\nCSeq: {cseq} REGISTER\r\nContact: <{}>\r\nExpires: {expires}\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            self.via(&unique("z9hG4bKreg")),
            unique("rt"),
            self.register_call_id,
            self.contact,
        );
        self.send(&msg).await;
        self.expect_response("REGISTER").await
    }

    // ------------------------------------------------------------- caller side

    /// A Proxy-Authorization line for `method` to `uri`, from a challenge fetched once
    /// (a MESSAGE without credentials, answered 407) and then reused with a growing
    /// nonce count.
    pub async fn proxy_authorization(&mut self, method: &str, uri: &str) -> String {
        if self.proxy_nonce.is_none() {
            let to = format!("carol@{DOMAIN}");
            let probe = Pager::text(&to, "probe");
            self.write_pager(&probe, "").await;
            let resp = self.expect_response("MESSAGE").await;
            assert_eq!(resp.status(), 407, "challenge expected:\n{}", resp.text);
            self.proxy_nonce = Some(challenge_params(
                &resp,
                "Proxy-Authenticate",
                Algorithm::Sha256,
            ));
            self.nc = 0;
        }
        self.nc += 1;
        let (nonce, opaque) = self.proxy_nonce.clone().unwrap_or_default();
        authorization(
            &Digest {
                header: "Proxy-Authorization",
                user: &self.user.clone(),
                password: password(&self.user),
                method,
                uri,
                nc: self.nc,
            },
            &nonce,
            &opaque,
        )
    }

    /// Sends an out-of-dialog MESSAGE; returns its Call-ID.
    pub async fn send_pager(&mut self, p: &Pager<'_>) -> String {
        let uri = format!("sip:{}", p.to);
        let auth = if p.authenticate {
            self.proxy_authorization("MESSAGE", &uri).await
        } else {
            String::new()
        };
        self.write_pager(p, &auth).await
    }

    /// Sends a MESSAGE with the given credentials line (or none); returns its Call-ID.
    async fn write_pager(&mut self, p: &Pager<'_>, auth: &str) -> String {
        let uri = format!("sip:{}", p.to);
        let call_id = unique("pager-");
        let from = p.from_user.unwrap_or(&self.user).to_owned();
        let msg = format!(
            "MESSAGE {uri} SIP/2.0\r\n{}Max-Forwards: {}\r\n\
             From: <sip:{from}@{DOMAIN}>;tag={}\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 MESSAGE\r\n{auth}Content-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
            self.via(&unique("z9hG4bKm")),
            p.max_forwards,
            unique("ft"),
            p.content_type,
            p.body.len(),
            p.body,
        );
        self.send(&msg).await;
        call_id
    }

    /// Sends an authenticated INVITE to `to_user`; returns the caller's session.
    pub async fn invite(&mut self, to_user: &str) -> Session {
        let uri = format!("sip:{to_user}@{DOMAIN}");
        let auth = self.proxy_authorization("INVITE", &uri).await;
        let mut s = Session {
            call_id: unique("call-"),
            local: format!("<sip:{}@{DOMAIN}>;tag={}", self.user, unique("at")),
            remote: format!("<{uri}>"),
            target: uri.clone(),
            route: Vec::new(),
            cseq: 1,
            invite_branch: unique("z9hG4bKinv"),
            invite_cseq: 1,
        };
        let msg = format!(
            "INVITE {uri} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
             Call-ID: {}\r\nCSeq: 1 INVITE\r\nContact: <{}>\r\n{auth}\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            self.via(&s.invite_branch),
            s.local,
            s.remote,
            s.call_id,
            self.contact,
            SDP.len(),
        );
        self.send(&msg).await;
        s.target = uri;
        s
    }

    /// CANCELs the pending INVITE of `s` (§9.1: same Request-URI, branch, CSeq number).
    pub async fn cancel(&mut self, s: &Session) {
        let msg = format!(
            "CANCEL {} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\n\
             CSeq: {} CANCEL\r\nContent-Length: 0\r\n\r\n",
            s.target,
            self.via(&s.invite_branch),
            s.local,
            s.remote,
            s.call_id,
            s.invite_cseq
        );
        self.send(&msg).await;
    }

    /// The ACK for a non-2xx final response to the INVITE (§17.1.1.3: same branch).
    pub async fn ack_failure(&mut self, s: &Session, resp: &Sip) {
        let msg = format!(
            "ACK {} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\n\
             CSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            s.target,
            self.via(&s.invite_branch),
            s.local,
            resp.must("To"),
            s.call_id,
            s.invite_cseq
        );
        self.send(&msg).await;
    }

    /// A request within the dialog of `s` (ACK reuses the INVITE's CSeq number, any
    /// other method takes the next one).
    pub async fn in_dialog(&mut self, s: &mut Session, method: &str, ctype: &str, body: &str) {
        let cseq = if method == "ACK" {
            s.invite_cseq
        } else {
            s.cseq += 1;
            s.cseq
        };
        let routes: String = s.route.iter().map(|r| format!("Route: {r}\r\n")).collect();
        let content = if body.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {ctype}\r\n")
        };
        let msg = format!(
            "{method} {} SIP/2.0\r\n{}Max-Forwards: 70\r\n{routes}From: {}\r\nTo: {}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {method}\r\n{content}Content-Length: {}\r\n\r\n{body}",
            s.target,
            self.via(&unique("z9hG4bKd")),
            s.local,
            s.remote,
            s.call_id,
            body.len(),
        );
        self.send(&msg).await;
    }

    // ------------------------------------------------------------- device side

    /// Answers `req` with `status`, adding `tag` to To when it has none. Responses to
    /// INVITE (other than 100) carry our Contact and the Record-Route (§12.1.1).
    pub async fn reply(&mut self, req: &Sip, status: u16, tag: &str) {
        let vias: String = req
            .all("Via")
            .iter()
            .map(|v| format!("Via: {v}\r\n"))
            .collect();
        let to = req.must("To");
        let to = if tag_of(&to).is_some() || status == 100 {
            to
        } else {
            format!("{to};tag={tag}")
        };
        let mut extra = String::new();
        if req.method() == "INVITE" && status > 100 {
            for rr in req.all("Record-Route") {
                extra.push_str(&format!("Record-Route: {rr}\r\n"));
            }
            extra.push_str(&format!("Contact: <{}>\r\n", self.contact));
        }
        let msg = format!(
            "SIP/2.0 {status} {}\r\n{vias}From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            reason(status),
            req.must("From"),
            req.must("Call-ID"),
            req.must("CSeq"),
        );
        self.send(&msg).await;
    }
}

/// Takes one complete message off the front of a stream buffer.
fn take_framed(buf: &mut Vec<u8>) -> Option<Sip> {
    // Keep-alive CRLFs between messages (RFC 5626 §3.5.1).
    while buf.starts_with(b"\r\n") {
        buf.drain(..2);
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = Sip::parse(buf.get(..end).unwrap_or_default());
    let len: usize = head
        .get("Content-Length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    if buf.len() < end + len {
        return None;
    }
    let msg = Sip::parse(buf.get(..end + len).unwrap_or_default());
    buf.drain(..end + len);
    Some(msg)
}

fn reason(status: u16) -> &'static str {
    match status {
        180 => "Ringing",
        200 => "OK",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        503 => "Service Unavailable",
        603 => "Decline",
        _ => "Response",
    }
}
