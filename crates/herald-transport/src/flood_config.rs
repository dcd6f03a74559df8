//! Settings of the per-source-address flood guard, and why the defaults are what they are.
use std::time::Duration;

use crate::cidr::Cidr;

/// Per-source-IP admission limits, in the spirit of Kamailio's pike module.
///
/// Every UDP datagram and every message framed on a TCP/TLS connection takes a token
/// from its source address's request bucket (`requests_per_sec` sustained, `burst` at
/// once); every accepted connection takes one from its connection bucket. An address
/// that finds a bucket empty is banned for [`FloodConfig::ban`]: its datagrams are
/// dropped before any parsing, its new connections are closed at accept, and its open
/// connections are closed. Addresses in [`FloodConfig::trusted`] are exempt from all of
/// this and from `max_connections_per_ip`.
///
/// The defaults are meant for a real deployment without tuning: one address is normally
/// one client (or a few behind a NAT), which sends well under one message a second once
/// logged in and a few hundred at most while logging in (registration, subscriptions,
/// the answers to a NOTIFY per contact). Gateways, load generators and big NATs go in
/// `trusted`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodConfig {
    /// `false` turns the guard off entirely. Default `true`.
    pub enabled: bool,
    /// Messages per second one address may send, sustained. Default 200: two hundred
    /// busy clients behind one address, far more than one client's login.
    pub requests_per_sec: u32,
    /// Messages one address may send at once on top of the sustained rate. Default
    /// 1000: a client with a large contact list logging in, or a few clients behind one
    /// NAT logging in together after an outage.
    pub burst: u32,
    /// New TCP/TLS connections per second from one address, sustained. Default 20: a
    /// client keeps one connection and reconnects only after losing it.
    pub connections_per_sec: u32,
    /// New connections one address may open at once. Default 100: every client of an
    /// office NAT reconnecting together.
    pub connection_burst: u32,
    /// How long a ban lasts. A ban ends once this has passed and the address has sent
    /// slower than its rates long enough to earn half its bursts back; an address still
    /// flooding when its ban ends is banned again for as long (traffic during a ban
    /// extends it, as with pike), so a steady flood never gets a burst through.
    /// Default 60 s.
    pub ban: Duration,
    /// Networks never limited or banned (and exempt from `max_connections_per_ip`):
    /// gateways, trunks, load generators. Default none.
    pub trusted: Vec<Cidr>,
    /// Most source addresses tracked at once, which bounds the guard's memory (about
    /// 100 bytes each). Addresses are forgotten once their buckets are full again; when
    /// the table is full anyway (a flood from more addresses than this within a second
    /// or so), new addresses pass unchecked and are counted in
    /// [`crate::TransportStats::flood_untracked`], while banned ones stay banned.
    /// Default 100 000.
    pub max_tracked_ips: usize,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            enabled: true,
            requests_per_sec: 200,
            burst: 1_000,
            connections_per_sec: 20,
            connection_burst: 100,
            ban: Duration::from_secs(60),
            trusted: Vec::new(),
            max_tracked_ips: 100_000,
        }
    }
}
