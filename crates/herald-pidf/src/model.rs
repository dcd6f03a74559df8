//! The parsed, owned presence model: what the server keeps per endpoint after a
//! PUBLISH, and what the aggregation reads. Only what Herald understands is kept;
//! unknown extension elements are dropped at parse time (they are never relayed).

use crate::activity::Activity;
use crate::availability::Availability;

/// One endpoint's published presence document (RFC 3863 + RFC 4479 + RFC 4480 +
/// RFC 4482 + the Herald extension).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publication {
    /// The `entity` attribute of `<presence>` (the presentity URI as published).
    pub entity: String,
    /// Services (`<tuple>`), in document order.
    pub tuples: Vec<Tuple>,
    /// The person component (`<dm:person>`); the first one when a document has several.
    pub person: Option<Person>,
    /// Devices (`<dm:device>`), in document order.
    pub devices: Vec<Device>,
    /// Notes directly inside `<presence>`.
    pub notes: Vec<Note>,
}

/// PIDF basic status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basic {
    /// `open`: willing to communicate.
    Open,
    /// `closed`: not.
    Closed,
}

impl Basic {
    /// The PIDF text (`open` / `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Basic::Open => "open",
            Basic::Closed => "closed",
        }
    }
}

/// A service (`<tuple>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tuple {
    /// The `id` attribute.
    pub id: String,
    /// `<status><basic>`, when present.
    pub basic: Option<Basic>,
    /// `<contact>`, when present.
    pub contact: Option<Contact>,
    /// Tuple notes.
    pub notes: Vec<Note>,
    /// `<timestamp>` as published (checked for plausible characters only).
    pub timestamp: Option<String>,
    /// `<dm:deviceID>`: the device this service runs on.
    pub device_id: Option<String>,
    /// RPID `<user-input>` of this service.
    pub user_input: Option<UserInput>,
}

/// A tuple's `<contact>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The contact URI.
    pub uri: String,
    /// `priority` (0 to 1) in thousandths, when present.
    pub priority_millis: Option<u16>,
}

/// The person component (`<dm:person>`, RFC 4479 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    /// The `id` attribute.
    pub id: String,
    /// RPID activities, in document order, without duplicates.
    pub activities: Vec<Activity>,
    /// RPID `<user-input>`.
    pub user_input: Option<UserInput>,
    /// RPID `<place-type>` values.
    pub place_types: Vec<PlaceType>,
    /// RPID `<time-offset>`.
    pub time_offset: Option<TimeOffset>,
    /// CIPID elements.
    pub identity: Identity,
    /// Herald `<ha:availability>`: an explicit number that wins over the derived one.
    pub availability: Option<Availability>,
    /// Herald `<ha:card>`.
    pub card: Option<ContactCard>,
    /// Herald `<ha:out-of-office>`.
    pub out_of_office: Option<Note>,
    /// `<dm:note>` (and RPID activity notes), in document order.
    pub notes: Vec<Note>,
    /// `<dm:timestamp>` as published.
    pub timestamp: Option<String>,
}

/// A device (`<dm:device>`, RFC 4479 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    /// The `id` attribute.
    pub id: String,
    /// `<dm:deviceID>` (a URN such as `urn:uuid:...`).
    pub device_id: Option<String>,
    /// RPID `<user-input>` of this device.
    pub user_input: Option<UserInput>,
    /// Device notes.
    pub notes: Vec<Note>,
    /// `<dm:timestamp>` as published.
    pub timestamp: Option<String>,
}

/// A note and its language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    /// The text, XML whitespace trimmed; never empty.
    pub text: String,
    /// `xml:lang`.
    pub lang: Option<String>,
}

impl Note {
    /// A note without a language tag.
    pub fn new(text: impl Into<String>) -> Self {
        Note {
            text: text.into(),
            lang: None,
        }
    }
}

/// RPID `<user-input>` (RFC 4480 §3.12): is someone using the device?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserInput {
    /// `active`
    Active,
    /// `idle`
    Idle,
}

impl UserInput {
    /// The RPID text.
    pub fn as_str(self) -> &'static str {
        match self {
            UserInput::Active => "active",
            UserInput::Idle => "idle",
        }
    }
}

/// One RPID `<place-type>` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PlaceType {
    /// A location type of RFC 4589 (`<lt:office/>`, `<lt:residence/>`...): its name.
    Location(String),
    /// `<rpid:other>text</rpid:other>`.
    Other(String),
}

/// RPID `<time-offset>` (RFC 4480 §3.11): minutes from UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeOffset {
    /// Offset from UTC in minutes (-1440..=1440).
    pub minutes: i32,
    /// The `description` attribute (e.g. a zone name).
    pub description: Option<String>,
}

/// CIPID person information (RFC 4482).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Identity {
    /// `<c:display-name>`.
    pub display_name: Option<String>,
    /// `<c:card>`: URI of a vCard.
    pub card: Option<String>,
    /// `<c:homepage>`.
    pub homepage: Option<String>,
    /// `<c:icon>`: URI of an image.
    pub icon: Option<String>,
}

impl Identity {
    /// Whether no element is present.
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.card.is_none()
            && self.homepage.is_none()
            && self.icon.is_none()
    }
}

/// The Herald contact card (`<ha:card>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct ContactCard {
    /// `<ha:display-name>`.
    pub display_name: Option<String>,
    /// `<ha:title>`: job title.
    pub title: Option<String>,
    /// `<ha:email>`.
    pub email: Option<String>,
    /// `<ha:phone>`.
    pub phone: Option<String>,
}

impl ContactCard {
    /// Whether no field is present.
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.title.is_none()
            && self.email.is_none()
            && self.phone.is_none()
    }
}

impl Publication {
    /// The notes a watcher should see as this endpoint's personal note: the person's
    /// notes, else the document's, else the first tuple's that has any (older clients
    /// put their note in one of those places only).
    pub fn personal_notes(&self) -> &[Note] {
        if let Some(person) = self.person.as_ref().filter(|p| !p.notes.is_empty()) {
            return &person.notes;
        }
        if !self.notes.is_empty() {
            return &self.notes;
        }
        self.tuples
            .iter()
            .map(|t| t.notes.as_slice())
            .find(|n| !n.is_empty())
            .unwrap_or(&[])
    }
}
