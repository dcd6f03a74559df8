//! One conference: who is in it, who was invited, who watches its roster, and what it
//! has carried. Kept in memory (a conference is soft state, like a call); its
//! monitoring record is in the store.
use crate::id::ConfId;
use crate::outbox::{OutItem, Outbox, Push};
use herald_conference_docs::conference_info::{
    ConferenceInfo, DisconnectionMethod, ElementState, Endpoint, EndpointStatus, JoiningMethod,
    User,
};
use herald_dialog::Dialog;
use herald_proxy::Hop;
use herald_sip::{HeaderName, Method, SipStr};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// One dialog of a participant (a user may join from several devices).
pub(crate) struct Participant {
    pub id: u64,
    /// `user@domain`.
    pub aor: String,
    pub display: Option<String>,
    pub dialog: Arc<Mutex<Dialog>>,
    pub hop: Hop,
    pub outbox: Outbox,
    /// It accepts `message/cpim` (said so in Accept or SDP accept-types): messages
    /// reach it wrapped, naming their sender.
    pub cpim: bool,
    /// RFC 3339 time of joining.
    pub joined_at: String,
    pub joining: JoiningMethod,
    pub referred_by: Option<String>,
    /// The ACK of our 2xx arrived (or the 2xx was theirs).
    pub confirmed: bool,
    /// When it joined (an unconfirmed join is dropped after a while).
    pub since: Instant,
}

impl Participant {
    /// The endpoint entity of the roster: the participant's Contact.
    fn entity(&self) -> String {
        self.dialog.lock().remote_target.clone()
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint {
            entity: self.entity(),
            state: ElementState::Full,
            display_text: self.display.clone(),
            status: Some(EndpointStatus::Connected),
            joining_method: Some(self.joining),
            joining_when: Some(self.joined_at.clone()),
            disconnection_method: None,
            disconnection_when: None,
            referred_by: self.referred_by.clone(),
        }
    }
}

/// A subscription to the conference event package (RFC 4575).
pub(crate) struct RosterSub {
    pub id: u64,
    pub watcher: String,
    pub dialog: Arc<Mutex<Dialog>>,
    pub hop: Hop,
    pub outbox: Outbox,
    pub expires_at: Instant,
    /// The version of the last document sent (RFC 4575 §4.6: one more each NOTIFY).
    pub version: u32,
}

/// A change of the roster, for partial notifications.
pub(crate) enum RosterChange {
    Joined {
        aor: String,
    },
    Left {
        aor: String,
        endpoint: String,
        how: DisconnectionMethod,
    },
}

pub(crate) struct Conference {
    /// `sip:conf-<id>@domain`.
    pub uri: String,
    pub domain: String,
    /// `user@domain` of the creator.
    pub creator: String,
    pub last_activity: Instant,
    /// In the order they joined.
    pub participants: Vec<Participant>,
    /// Users invited by a participant (REFER) or by creating it.
    pub invited: HashSet<String>,
    pub roster: Vec<RosterSub>,
    /// Messages carried (not typing indications).
    pub messages: u64,
    /// Some participant's IM is archived: every message is.
    pub archived: bool,
    /// No one may join any more (it is ending).
    pub ended: bool,
}

impl Conference {
    pub fn new(id: ConfId, domain: &str, creator: &str) -> Conference {
        let mut invited = HashSet::new();
        invited.insert(creator.to_owned());
        Conference {
            uri: format!("sip:{}@{domain}", id.user()),
            domain: domain.to_owned(),
            creator: creator.to_owned(),
            last_activity: Instant::now(),
            participants: Vec::new(),
            invited,
            roster: Vec::new(),
            messages: 0,
            archived: false,
            ended: false,
        }
    }

    pub fn participant(&self, id: u64) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    pub fn participant_mut(&mut self, id: u64) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|p| p.id == id)
    }

    pub fn remove_participant(&mut self, id: u64) -> Option<Participant> {
        let at = self.participants.iter().position(|p| p.id == id)?;
        Some(self.participants.remove(at))
    }

    pub fn remove_roster(&mut self, id: u64) -> Option<RosterSub> {
        let at = self.roster.iter().position(|s| s.id == id)?;
        Some(self.roster.remove(at))
    }

    /// Distinct users connected.
    pub fn user_count(&self) -> usize {
        let users: HashSet<&str> = self.participants.iter().map(|p| p.aor.as_str()).collect();
        users.len()
    }

    fn user(&self, aor: &str) -> Option<User> {
        let endpoints: Vec<&Participant> =
            self.participants.iter().filter(|p| p.aor == aor).collect();
        let first = endpoints.first()?;
        let roles = if aor == self.creator {
            vec!["moderator".to_owned(), "participant".to_owned()]
        } else {
            vec!["participant".to_owned()]
        };
        Some(User {
            entity: format!("sip:{aor}"),
            state: ElementState::Full,
            display_text: first.display.clone(),
            roles,
            endpoints: endpoints.iter().map(|p| p.endpoint()).collect(),
        })
    }

    fn document(&self, state: ElementState, users: Vec<User>, version: u32) -> ConferenceInfo {
        ConferenceInfo {
            entity: self.uri.clone(),
            version,
            state,
            subject: None,
            max_user_count: None,
            user_count: Some(self.user_count() as u32),
            active: Some(!self.ended),
            users,
        }
    }

    /// The whole roster (a new or refreshed subscription).
    pub fn full_document(&self, version: u32, max_participants: usize) -> ConferenceInfo {
        let mut seen = HashSet::new();
        let users = self
            .participants
            .iter()
            .filter(|p| seen.insert(p.aor.as_str()))
            .filter_map(|p| self.user(&p.aor))
            .collect();
        let mut doc = self.document(ElementState::Full, users, version);
        doc.max_user_count = Some(max_participants as u32);
        doc
    }

    /// Only what `change` changed.
    pub fn partial_document(&self, change: &RosterChange, version: u32) -> ConferenceInfo {
        let user = match change {
            RosterChange::Joined { aor } => self.user(aor),
            RosterChange::Left { aor, endpoint, how } => {
                let gone = Endpoint {
                    entity: endpoint.clone(),
                    state: ElementState::Deleted,
                    display_text: None,
                    status: Some(EndpointStatus::Disconnected),
                    joining_method: None,
                    joining_when: None,
                    disconnection_method: Some(*how),
                    disconnection_when: Some(herald_conference_docs::cpim::now_datetime()),
                    referred_by: None,
                };
                match self.user(aor) {
                    // Still there from another device: one endpoint less.
                    Some(mut user) => {
                        user.state = ElementState::Partial;
                        user.endpoints = vec![gone];
                        Some(user)
                    }
                    None => Some(User {
                        entity: format!("sip:{aor}"),
                        state: ElementState::Deleted,
                        display_text: None,
                        roles: Vec::new(),
                        endpoints: vec![gone],
                    }),
                }
            }
        };
        self.document(ElementState::Partial, user.into_iter().collect(), version)
    }

    /// Sends each roster subscriber the change. A subscriber too slow to keep up is
    /// dropped (its subscription ends); returns their ids for the caller's index.
    pub fn notify_roster(
        &mut self,
        change: &RosterChange,
        expires_of: impl Fn(&RosterSub) -> u32,
    ) -> Vec<u64> {
        let mut dropped = Vec::new();
        let mut items = Vec::with_capacity(self.roster.len());
        for sub in &self.roster {
            let version = sub.version + 1;
            let doc = self.partial_document(change, version);
            let state = SubState::for_expires(expires_of(sub));
            items.push((sub.id, version, notify_item(&doc, state)));
        }
        for (id, version, item) in items {
            let Some(sub) = self.roster.iter_mut().find(|s| s.id == id) else {
                continue;
            };
            sub.version = version;
            if sub.outbox.push(item) != Push::Queued {
                dropped.push(id);
            }
        }
        for id in &dropped {
            if let Some(sub) = self.remove_roster(*id) {
                sub.outbox.abort(false);
            }
        }
        dropped
    }
}

/// A conference URI as the store and the archive name it: `conf-<id>@domain`, like
/// a user's address of record.
pub(crate) fn address(uri: &str) -> &str {
    uri.strip_prefix("sip:").unwrap_or(uri)
}

/// The `Subscription-State` of a NOTIFY of ours (roster, REFER progress).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubState {
    Active { expires: u32 },
    Terminated { reason: &'static str },
}

impl SubState {
    /// Active for `expires` seconds; 0 (a fetch, an unsubscribe) is the last NOTIFY.
    pub fn for_expires(expires: u32) -> SubState {
        if expires == 0 {
            SubState::Terminated {
                reason: "noresource",
            }
        } else {
            SubState::Active { expires }
        }
    }

    pub fn header_value(self) -> String {
        match self {
            SubState::Active { expires } => format!("active;expires={expires}"),
            SubState::Terminated { reason } => format!("terminated;reason={reason}"),
        }
    }
}

/// A conference NOTIFY carrying `doc`.
pub(crate) fn notify_item(doc: &ConferenceInfo, state: SubState) -> OutItem {
    let mut item = OutItem::new(Method::Notify);
    item.headers
        .push((HeaderName::Event, SipStr::from_static("conference")));
    item.headers.push((
        HeaderName::SubscriptionState,
        SipStr::from(state.header_value()),
    ));
    item.body = Some((
        SipStr::from_static(herald_conference_docs::conference_info::CONTENT_TYPE),
        doc.to_xml().into(),
    ));
    item
}
