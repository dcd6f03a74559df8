//! What the conference scenario shares between its phases and the connection
//! readers: every participant (digest state, its dialog with the focus, what it has
//! received from each other participant), the conference URIs, the message book and
//! the per-connection tallies of copies.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use herald_dialog::Dialog;
use parking_lot::Mutex;

use super::layout::Layout;
use super::ledger::{MessageBook, SenderOrder};
use crate::anomalies::Anomalies;
use crate::connection::Connection;
use crate::digest::DigestSession;
use crate::exchange::Requester;
use crate::population::Population;

/// One participant.
#[derive(Debug)]
pub struct Member {
    /// Digest state (one INVITE of this user at a time).
    pub digest: Mutex<DigestSession>,
    /// The dialog with the focus, once joined.
    pub dialog: Mutex<Option<Dialog>>,
    /// The dialog's Call-ID (set once joined; read by the connection readers).
    pub call_id: OnceLock<String>,
    /// The focus ended this participant's dialog (BYE) or it left.
    pub gone: AtomicBool,
    /// A MESSAGE of this participant is in flight.
    pub sending: AtomicBool,
    /// The sequence number of its next message.
    pub next_seq: AtomicU64,
    /// What it has received from each other participant, by the sender's slot.
    pub inbox: Mutex<Vec<SenderOrder>>,
}

impl Member {
    /// In its conference and able to send and receive.
    pub fn active(&self) -> bool {
        self.call_id.get().is_some() && !self.gone.load(Ordering::Acquire)
    }
}

/// Copy counts of one step on one connection.
#[derive(Debug, Default)]
pub struct StepCopies {
    /// Copies counted for their message (first arrivals).
    pub received: u64,
    /// Copies that came after a later message of the same sender.
    pub out_of_order: u64,
    /// Copies seen before by the same recipient.
    pub repeated: u64,
    /// Copies whose P-Asserted-Identity names someone else than their sender.
    pub wrong_sender: u64,
    /// Send-to-arrival latencies of the first arrivals.
    pub latencies: Vec<Duration>,
}

/// Copies read by one connection's reader.
#[derive(Debug, Default)]
pub struct CopyTally {
    /// Every MESSAGE from the focus, whatever it held.
    pub arrivals: u64,
    /// By the step their stamp names.
    pub steps: Vec<StepCopies>,
}

impl CopyTally {
    /// The counts of `step`, made on first use.
    pub fn step(&mut self, step: usize) -> Option<&mut StepCopies> {
        if step >= self.steps.len() {
            // Steps come from stamps this run wrote; a damaged one is refused earlier.
            self.steps.resize_with(step + 1, StepCopies::default);
        }
        self.steps.get_mut(step)
    }
}

/// Settings of a run that the state needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The password of every user.
    pub password: String,
    /// How long a request waits for its final response.
    pub request_timeout: Duration,
    /// Participants ask for message/cpim.
    pub cpim: bool,
    /// Steps in the run.
    pub steps: usize,
    /// Messages the whole run may send.
    pub capacity: usize,
}

/// Shared state of a conference run.
pub struct ConferenceState {
    /// Users, their names and conferences.
    pub layout: Layout,
    /// User names.
    pub population: Population,
    /// Settings.
    pub settings: Settings,
    /// Participants by user index.
    pub members: Vec<Member>,
    /// Conference URIs by conference index, once created.
    pub uris: Vec<OnceLock<String>>,
    /// Every message of the run.
    pub book: MessageBook,
    /// Copy tallies by connection.
    pub tallies: Vec<Mutex<CopyTally>>,
    /// Participants whose dialog the focus ended (BYE), by when.
    pub dropped: Mutex<Vec<(usize, Instant)>>,
    /// The run's clock: stamps carry microseconds since this instant.
    pub epoch: Instant,
    /// Challenges received.
    pub challenges: AtomicU64,
    /// Unexpected input.
    pub anomalies: Arc<Anomalies>,
}

impl ConferenceState {
    /// State for `layout` (users named by `population`) over `connections` connections.
    pub fn new(
        layout: Layout,
        population: Population,
        settings: Settings,
        connections: usize,
        anomalies: Arc<Anomalies>,
    ) -> Self {
        let members = (0..layout.users())
            .map(|i| Member {
                digest: Mutex::new(DigestSession::new(population.name(i))),
                dialog: Mutex::new(None),
                call_id: OnceLock::new(),
                gone: AtomicBool::new(false),
                sending: AtomicBool::new(false),
                next_seq: AtomicU64::new(0),
                inbox: Mutex::new(vec![SenderOrder::default(); layout.participants()]),
            })
            .collect();
        let tallies = (0..connections)
            .map(|_| Mutex::new(CopyTally::default()))
            .collect();
        ConferenceState {
            layout,
            population,
            book: MessageBook::new(settings.capacity),
            settings,
            members,
            uris: (0..layout.conferences()).map(|_| OnceLock::new()).collect(),
            tallies,
            dropped: Mutex::new(Vec::new()),
            epoch: Instant::now(),
            challenges: AtomicU64::new(0),
            anomalies,
        }
    }

    /// The connection user `i` uses.
    pub fn connection_of<'a>(
        &self,
        conns: &'a [Arc<Connection>],
        i: usize,
    ) -> Option<&'a Arc<Connection>> {
        conns.get(i % conns.len().max(1))
    }

    /// Active participants of `user`'s conference other than `user`.
    pub fn others_active(&self, user: usize) -> usize {
        let conference = self.layout.conference_of(user);
        (0..self.layout.participants())
            .filter_map(|slot| self.layout.user(conference, slot))
            .filter(|&u| u != user)
            .filter(|&u| self.members.get(u).is_some_and(Member::active))
            .count()
    }

    /// Active participants in all.
    pub fn active_members(&self) -> usize {
        self.members.iter().filter(|m| m.active()).count()
    }

    /// Microseconds since the run began.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Every connection's total of copies read.
    pub fn arrivals(&self) -> u64 {
        self.tallies.iter().map(|t| t.lock().arrivals).sum()
    }

    /// The copy counts of `step` over every connection, the latencies taken out.
    pub fn take_step(&self, step: usize) -> StepCopies {
        let mut sum = StepCopies::default();
        for tally in &self.tallies {
            let mut t = tally.lock();
            if let Some(s) = t.steps.get_mut(step) {
                sum.received += s.received;
                sum.out_of_order += s.out_of_order;
                sum.repeated += s.repeated;
                sum.wrong_sender += s.wrong_sender;
                sum.latencies.append(&mut s.latencies);
            }
        }
        sum
    }

    /// Participants the focus dropped after `since`.
    pub fn dropped_since(&self, since: Instant) -> usize {
        self.dropped
            .lock()
            .iter()
            .filter(|(_, at)| *at >= since)
            .count()
    }
}

impl Requester for ConferenceState {
    fn with_digest<R>(&self, user: usize, f: impl FnOnce(&mut DigestSession) -> R) -> Option<R> {
        self.members.get(user).map(|m| f(&mut m.digest.lock()))
    }

    fn password(&self) -> &str {
        &self.settings.password
    }

    fn request_timeout(&self) -> Duration {
        self.settings.request_timeout
    }

    fn challenges(&self) -> &AtomicU64 {
        &self.challenges
    }

    fn anomalies(&self) -> &Anomalies {
        &self.anomalies
    }
}
