//! XML namespaces this crate reads and writes.

/// PIDF (RFC 3863): `presence`, `tuple`, `status`, `basic`, `contact`, `note`, `timestamp`.
pub const PIDF: &str = "urn:ietf:params:xml:ns:pidf";
/// The presence data model (RFC 4479): `person`, `device`, `deviceID`, `note`, `timestamp`.
pub const DATA_MODEL: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// Rich presence (RFC 4480): `activities`, `user-input`, `place-type`, `time-offset`, ...
pub const RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
/// Contact information (RFC 4482): `display-name`, `card`, `homepage`, `icon`.
pub const CIPID: &str = "urn:ietf:params:xml:ns:pidf:cipid";
/// Location types (RFC 4589), the values of RPID `place-type`.
pub const LOCATION_TYPE: &str = "urn:ietf:params:xml:ns:location-type";
/// Herald's availability extension: `availability`, `card`, `out-of-office` inside
/// `<person>` (documented in the crate root).
pub const HERALD_AVAILABILITY: &str = "urn:herald:params:xml:ns:pidf:availability";
/// Watcher information (RFC 3858).
pub const WATCHERINFO: &str = "urn:ietf:params:xml:ns:watcherinfo";
/// Resource list meta-information (RFC 4662).
pub const RLMI: &str = "urn:ietf:params:xml:ns:rlmi";
/// The namespace of the `xml:` prefix (`xml:lang`).
pub const XML: &str = herald_xml::XML_NAMESPACE;
