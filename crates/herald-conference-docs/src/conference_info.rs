//! `application/conference-info+xml` (RFC 4575): the roster a conference focus sends to
//! the subscribers of its `conference` event package, in full or as a partial update.
//!
//! The model carries what a focus of instant-messaging conferences says about itself
//! and its participants; [`ConferenceInfo::to_xml`] writes it in the order of the RFC
//! 4575 schema, and [`ConferenceInfo::parse`] reads any RFC 4575 document into it,
//! ignoring what the model has no room for.
//!
//! # Partial documents
//!
//! The `state` of a [`ConferenceInfo`] stands for the document and for its sections:
//! a partial document is written with `state="partial"` on `conference-description`,
//! `conference-state` and `users` as well, because the schema's default for those is
//! `full` and a subscriber would otherwise read `<users>` holding only the changed users
//! as the complete list. A user or endpoint carries its own state: `partial` (only what
//! changed), `full` (replaces what the subscriber holds) or `deleted` (gone).

mod read;
mod write;

use crate::error::DocError;
use crate::limits::Limits;

/// The MIME type of conference-info documents.
pub const CONTENT_TYPE: &str = "application/conference-info+xml";

/// The namespace of RFC 4575 documents.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:conference-info";

/// The `state` attribute of the document, a user or an endpoint (RFC 4575 §5.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ElementState {
    /// The element is complete: it replaces what the subscriber holds (the default
    /// when the attribute is absent).
    #[default]
    Full,
    /// Only what changed since the previous version.
    Partial,
    /// The element is gone.
    Deleted,
}

/// The `status` of an endpoint (RFC 4575 §5.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointStatus {
    /// `pending`: waiting to be let in (or for the focus to call).
    Pending,
    /// `dialing-out`: the focus is calling the endpoint.
    DialingOut,
    /// `dialing-in`: the endpoint is calling the focus.
    DialingIn,
    /// `alerting`: the endpoint is ringing.
    Alerting,
    /// `on-hold`: the endpoint is in the conference but on hold.
    OnHold,
    /// `connected`: the endpoint is in the conference.
    Connected,
    /// `muted-via-focus`: the focus has muted the endpoint.
    MutedViaFocus,
    /// `disconnecting`: the endpoint is being taken out.
    Disconnecting,
    /// `disconnected`: the endpoint has left.
    Disconnected,
}

/// How an endpoint joined (RFC 4575 §5.7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoiningMethod {
    /// `dialed-in`: the endpoint called the focus.
    DialedIn,
    /// `dialed-out`: the focus called the endpoint (after a REFER, for instance).
    DialedOut,
    /// `focus-owner`: the endpoint is the focus itself.
    FocusOwner,
}

/// How an endpoint left (RFC 4575 §5.7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectionMethod {
    /// `departed`: it hung up.
    Departed,
    /// `booted`: it was removed by someone else.
    Booted,
    /// `failed`: joining failed.
    Failed,
    /// `busy`: it was busy when called.
    Busy,
}

/// One device or session of a user in the conference (RFC 4575 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's URI (its Contact, or a GRUU).
    pub entity: String,
    /// How complete this element is.
    pub state: ElementState,
    /// `display-text`.
    pub display_text: Option<String>,
    /// `status`.
    pub status: Option<EndpointStatus>,
    /// `joining-method`.
    pub joining_method: Option<JoiningMethod>,
    /// `joining-info/when`: an RFC 3339 date-time, as written.
    pub joining_when: Option<String>,
    /// `disconnection-method`.
    pub disconnection_method: Option<DisconnectionMethod>,
    /// `disconnection-info/when`: an RFC 3339 date-time, as written.
    pub disconnection_when: Option<String>,
    /// `referred/by`: the URI of whoever REFERred this endpoint into the conference.
    pub referred_by: Option<String>,
}

/// One participant of the conference (RFC 4575 §5.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's address of record.
    pub entity: String,
    /// How complete this element is.
    pub state: ElementState,
    /// `display-text`.
    pub display_text: Option<String>,
    /// `roles/entry`: `participant`, `administrator`, ...
    pub roles: Vec<String>,
    /// The user's devices in the conference.
    pub endpoints: Vec<Endpoint>,
}

/// One conference-info document (RFC 4575 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceInfo {
    /// The conference URI.
    pub entity: String,
    /// Goes up by one with every document sent on one subscription.
    pub version: u32,
    /// Whether this is the full roster or an update (see the module documentation).
    pub state: ElementState,
    /// `conference-description/subject`.
    pub subject: Option<String>,
    /// `conference-description/maximum-user-count`.
    pub max_user_count: Option<u32>,
    /// `conference-state/user-count`.
    pub user_count: Option<u32>,
    /// `conference-state/active`.
    pub active: Option<bool>,
    /// `users/user`, in document order.
    pub users: Vec<User>,
}

impl ConferenceInfo {
    /// The document: an XML declaration, then `<conference-info
    /// xmlns="urn:ietf:params:xml:ns:conference-info" entity=".." state=".." version="..">`
    /// with its elements in schema order. Elements whose value is `None` or empty are
    /// left out; text and attribute values are escaped (characters XML cannot carry
    /// become U+FFFD).
    pub fn to_xml(&self) -> String {
        write::to_xml(self)
    }

    /// Reads a document, tolerantly: unknown elements, attributes and namespaces are
    /// ignored, prefixes are allowed, children may come in any order, elements in no
    /// namespace are read as RFC 4575 ones, a repeated element counts once (the first),
    /// and a `status`, `joining-method` or `disconnection-method` whose value RFC 4575
    /// does not define reads as `None`. Text is kept as written except for URIs,
    /// numbers, booleans, dates and enumerated values, which are trimmed.
    ///
    /// Refused: anything over `limits`, XML that is not well-formed or not UTF-8, a
    /// DTD, a root other than `conference-info`, a missing `entity` (document, user or
    /// endpoint) or `version`, an unknown `state`, a count or boolean that does not
    /// parse.
    pub fn parse(xml: &[u8], limits: &Limits) -> Result<ConferenceInfo, DocError> {
        read::parse(xml, limits)
    }
}

/// The enumerations' spellings in RFC 4575, both ways.
macro_rules! tokens {
    ($ty:ident { $($variant:ident = $token:literal),+ $(,)? }) => {
        impl $ty {
            /// The value as RFC 4575 spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $token),+
                }
            }

            /// The value spelled `token` (exactly as RFC 4575 spells it).
            pub fn from_token(token: &str) -> Option<Self> {
                match token {
                    $($token => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

tokens!(ElementState {
    Full = "full",
    Partial = "partial",
    Deleted = "deleted",
});

tokens!(EndpointStatus {
    Pending = "pending",
    DialingOut = "dialing-out",
    DialingIn = "dialing-in",
    Alerting = "alerting",
    OnHold = "on-hold",
    Connected = "connected",
    MutedViaFocus = "muted-via-focus",
    Disconnecting = "disconnecting",
    Disconnected = "disconnected",
});

tokens!(JoiningMethod {
    DialedIn = "dialed-in",
    DialedOut = "dialed-out",
    FocusOwner = "focus-owner",
});

tokens!(DisconnectionMethod {
    Departed = "departed",
    Booted = "booted",
    Failed = "failed",
    Busy = "busy",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_reads_back_as_itself() {
        for status in [
            EndpointStatus::Pending,
            EndpointStatus::DialingOut,
            EndpointStatus::DialingIn,
            EndpointStatus::Alerting,
            EndpointStatus::OnHold,
            EndpointStatus::Connected,
            EndpointStatus::MutedViaFocus,
            EndpointStatus::Disconnecting,
            EndpointStatus::Disconnected,
        ] {
            assert_eq!(EndpointStatus::from_token(status.as_str()), Some(status));
        }
        for method in [
            JoiningMethod::DialedIn,
            JoiningMethod::DialedOut,
            JoiningMethod::FocusOwner,
        ] {
            assert_eq!(JoiningMethod::from_token(method.as_str()), Some(method));
        }
        for method in [
            DisconnectionMethod::Departed,
            DisconnectionMethod::Booted,
            DisconnectionMethod::Failed,
            DisconnectionMethod::Busy,
        ] {
            assert_eq!(
                DisconnectionMethod::from_token(method.as_str()),
                Some(method)
            );
        }
        assert_eq!(EndpointStatus::MutedViaFocus.as_str(), "muted-via-focus");
        assert_eq!(EndpointStatus::from_token("Connected"), None);
        assert_eq!(ElementState::default(), ElementState::Full);
    }
}
