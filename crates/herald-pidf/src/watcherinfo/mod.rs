//! Watcher information documents (`application/watcherinfo+xml`, RFC 3858): who watches
//! a resource, and in what subscription state. Built with [`WatcherInfoDoc`] and read
//! back with [`parse_watcherinfo`].

mod parse;

use std::fmt;
use std::str::FromStr;

use crate::namespaces::WATCHERINFO;
use herald_xml::XmlWriter;

pub use parse::parse_watcherinfo;

/// The media type of these documents.
pub const CONTENT_TYPE: &str = "application/watcherinfo+xml";

/// Whether a document holds the full state or only changes (RFC 3858 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocState {
    /// Every watcher of every listed resource.
    Full,
    /// Only the watchers whose state changed.
    Partial,
}

/// A subscription's state as the watched user sees it (RFC 3857 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatcherStatus {
    /// Waiting for the user's decision.
    Pending,
    /// Authorised and receiving notifications.
    Active,
    /// The subscription ended while pending; the watcher may try again.
    Waiting,
    /// Ended.
    Terminated,
}

/// What last happened to the subscription (RFC 3857 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatcherEvent {
    /// A subscription request arrived.
    Subscribe,
    /// The user approved it.
    Approved,
    /// Deactivated (the watcher should retry later).
    Deactivated,
    /// On probation.
    Probation,
    /// The user rejected it.
    Rejected,
    /// It expired.
    Timeout,
    /// The server gave up waiting for a decision.
    Giveup,
    /// The watched resource does not exist (any more).
    Noresource,
}

/// Text forms, in RFC order.
const STATES: &[(DocState, &str)] = &[(DocState::Full, "full"), (DocState::Partial, "partial")];
const STATUSES: &[(WatcherStatus, &str)] = &[
    (WatcherStatus::Pending, "pending"),
    (WatcherStatus::Active, "active"),
    (WatcherStatus::Waiting, "waiting"),
    (WatcherStatus::Terminated, "terminated"),
];
const EVENTS: &[(WatcherEvent, &str)] = &[
    (WatcherEvent::Subscribe, "subscribe"),
    (WatcherEvent::Approved, "approved"),
    (WatcherEvent::Deactivated, "deactivated"),
    (WatcherEvent::Probation, "probation"),
    (WatcherEvent::Rejected, "rejected"),
    (WatcherEvent::Timeout, "timeout"),
    (WatcherEvent::Giveup, "giveup"),
    (WatcherEvent::Noresource, "noresource"),
];

/// `Display`, `FromStr` and `as_str` from one of the tables above.
macro_rules! text_enum {
    ($type:ty, $table:expr) => {
        impl $type {
            /// The RFC 3858 text.
            pub fn as_str(self) -> &'static str {
                $table
                    .iter()
                    .find(|(v, _)| *v == self)
                    .map_or("", |(_, s)| s)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $type {
            type Err = ();

            /// Exact (case-sensitive) RFC 3858 text.
            fn from_str(s: &str) -> Result<Self, ()> {
                $table
                    .iter()
                    .find(|(_, text)| *text == s)
                    .map(|(v, _)| *v)
                    .ok_or(())
            }
        }
    };
}

text_enum!(DocState, STATES);
text_enum!(WatcherStatus, STATUSES);
text_enum!(WatcherEvent, EVENTS);

/// One watcher of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    /// Identifies this subscription within the watcher-list (stable across documents).
    pub id: String,
    /// The subscription's state.
    pub status: WatcherStatus,
    /// What last happened to it.
    pub event: WatcherEvent,
    /// The watcher's URI (the element content).
    pub uri: String,
    /// `display-name`.
    pub display_name: Option<String>,
    /// `expiration`: seconds until the subscription expires.
    pub expiration: Option<u64>,
    /// `duration-subscribed`: seconds the subscription has existed.
    pub duration_subscribed: Option<u64>,
    /// `xml:lang` of the display name.
    pub lang: Option<String>,
}

impl Watcher {
    /// A watcher with only the required fields.
    pub fn new(
        id: impl Into<String>,
        uri: impl Into<String>,
        status: WatcherStatus,
        event: WatcherEvent,
    ) -> Self {
        Watcher {
            id: id.into(),
            status,
            event,
            uri: uri.into(),
            display_name: None,
            expiration: None,
            duration_subscribed: None,
            lang: None,
        }
    }

    /// With a display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }
}

/// The watchers of one resource for one event package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherList {
    /// The watched resource's URI.
    pub resource: String,
    /// The event package watched (`presence`).
    pub package: String,
    /// Its watchers.
    pub watchers: Vec<Watcher>,
}

impl WatcherList {
    /// An empty list.
    pub fn new(resource: impl Into<String>, package: impl Into<String>) -> Self {
        WatcherList {
            resource: resource.into(),
            package: package.into(),
            watchers: Vec::new(),
        }
    }
}

/// A watcher information document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherInfoDoc {
    /// Incremented by one for each document sent in a subscription (starting at 0).
    pub version: u32,
    /// Full or partial state.
    pub state: DocState,
    /// One list per watched resource and package.
    pub lists: Vec<WatcherList>,
}

impl WatcherInfoDoc {
    /// A document with one (empty) watcher-list, the usual case.
    pub fn new(
        resource: impl Into<String>,
        package: impl Into<String>,
        version: u32,
        state: DocState,
    ) -> Self {
        WatcherInfoDoc {
            version,
            state,
            lists: vec![WatcherList::new(resource, package)],
        }
    }

    /// Adds a watcher to the last watcher-list (creating none: a document without
    /// lists stays without watchers).
    pub fn with_watcher(mut self, watcher: Watcher) -> Self {
        if let Some(list) = self.lists.last_mut() {
            list.watchers.push(watcher);
        }
        self
    }

    /// The `application/watcherinfo+xml` body.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        let version = self.version.to_string();
        w.open(
            "watcherinfo",
            &[
                ("xmlns", WATCHERINFO),
                ("version", &version),
                ("state", self.state.as_str()),
            ],
        );
        w.newline();
        for list in &self.lists {
            w.open(
                "watcher-list",
                &[("resource", &list.resource), ("package", &list.package)],
            );
            w.newline();
            for watcher in &list.watchers {
                let expiration = watcher.expiration.map(|e| e.to_string());
                let duration = watcher.duration_subscribed.map(|d| d.to_string());
                let mut attrs = vec![
                    ("id", watcher.id.as_str()),
                    ("status", watcher.status.as_str()),
                    ("event", watcher.event.as_str()),
                ];
                let optional = [
                    ("display-name", watcher.display_name.as_deref()),
                    ("expiration", expiration.as_deref()),
                    ("duration-subscribed", duration.as_deref()),
                    ("xml:lang", watcher.lang.as_deref()),
                ];
                attrs.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
                w.text_element("watcher", &attrs, &watcher.uri);
                w.newline();
            }
            w.close("watcher-list");
            w.newline();
        }
        w.close("watcherinfo");
        w.finish()
    }
}
