//! Server-stored contact lists: the people a user keeps on their buddy list, with the
//! user's own names for them and the groups they are filed under.

/// One entry of a user's server-stored contact list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactEntry {
    /// The contact's AOR, `user@domain` (domain lower-cased); need not be a local user.
    pub contact: String,
    /// The owner's own name for the contact, shown instead of the contact's published one.
    pub display_name: Option<String>,
    /// The groups the owner files the contact under: sorted, without repeats, possibly empty.
    pub groups: Vec<String>,
}

/// A contact to add (see [`Store::add_contact`](crate::Store::add_contact)).
///
/// Adding a contact already on the list updates it instead: its groups become the union of
/// the stored and the given ones, and a `Some` display name replaces the stored one (an empty
/// or blank one clears it; `None` keeps it).
#[derive(Clone, Debug)]
pub struct NewContact {
    /// The contact's AOR, `user@domain` or `sip:user@domain`; the domain is lower-cased.
    pub contact: String,
    /// The owner's name for the contact (at most 256 bytes, no control characters).
    pub display_name: Option<String>,
    /// Groups to file the contact under: each 1 to 64 characters after trimming, no control
    /// characters; repeats are ignored.
    pub groups: Vec<String>,
}
