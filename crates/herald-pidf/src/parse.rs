//! Validating a PUBLISH body (`application/pidf+xml`) into a [`Publication`].
//!
//! Strict about what Herald reads (the PIDF structure, basic status, RPID and CIPID
//! values, the Herald extension), lenient about everything else: elements of other
//! namespaces, and RPID/data-model elements Herald does not use, are skipped — unless
//! they carry `mustUnderstand="true"` (RFC 3863 §4.1.5), in which case the document is
//! refused, because storing and relaying it without that element would change its
//! meaning. Unknown elements in the PIDF namespace itself are errors: the PIDF schema
//! admits extensions only from other namespaces.

use crate::activity::Activity;
use crate::availability::Availability;
use crate::error::{ErrorKind, PidfError, shown};
use crate::limits::Limits;
use crate::model::{
    Basic, Contact, ContactCard, Device, Note, Person, PlaceType, Publication, TimeOffset, Tuple,
    UserInput,
};
use crate::namespaces::{CIPID, DATA_MODEL, HERALD_AVAILABILITY, LOCATION_TYPE, PIDF, RPID};
use herald_xml::Element;

/// Parses and validates a PIDF document. Errors carry a short reason fit for a `400`
/// reason phrase; nothing in the input can make this panic.
pub fn parse_pidf(body: &[u8], limits: &Limits) -> Result<Publication, PidfError> {
    let root = herald_xml::parse(body, &limits.xml())?;
    if !root.is(PIDF, "presence") {
        return Err(PidfError::invalid("root element is not PIDF <presence>"));
    }
    let entity = uri_text(root.attr("entity"), "presence entity")?;
    let mut publication = Publication {
        entity,
        ..Publication::default()
    };
    for child in &root.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(PIDF), "tuple") => publication.tuples.push(tuple(child)?),
            (Some(PIDF), "note") => push_note(&mut publication.notes, child),
            (Some(PIDF), _) => return Err(unexpected(child, "presence")),
            (Some(DATA_MODEL), "person") => {
                // RFC 4479 has one person per presentity; a second element is checked
                // like the first but not kept.
                let person = person(child)?;
                publication.person.get_or_insert(person);
            }
            (Some(DATA_MODEL), "device") => publication.devices.push(device(child)?),
            _ => skip(child)?,
        }
    }
    Ok(publication)
}

fn tuple(element: &Element) -> Result<Tuple, PidfError> {
    let mut tuple = Tuple {
        id: id(element, true)?,
        ..Tuple::default()
    };
    let mut seen_status = false;
    for child in &element.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(PIDF), "status") => {
                if seen_status {
                    return Err(PidfError::invalid("tuple with two <status>"));
                }
                seen_status = true;
                tuple.basic = status(child)?;
            }
            (Some(PIDF), "contact") => {
                if tuple.contact.is_some() {
                    return Err(PidfError::invalid("tuple with two <contact>"));
                }
                tuple.contact = Some(contact(child)?);
            }
            (Some(PIDF), "note") => push_note(&mut tuple.notes, child),
            (Some(PIDF), "timestamp") => tuple.timestamp = Some(timestamp(child)?),
            (Some(PIDF), _) => return Err(unexpected(child, "tuple")),
            (Some(DATA_MODEL), "deviceID") => {
                tuple.device_id = Some(uri_text(Some(&child.text), "deviceID")?)
            }
            (Some(RPID), "user-input") => tuple.user_input = Some(user_input(child)?),
            _ => skip(child)?,
        }
    }
    if !seen_status {
        return Err(PidfError::invalid("tuple without <status>"));
    }
    Ok(tuple)
}

fn status(element: &Element) -> Result<Option<Basic>, PidfError> {
    let mut basic = None;
    for child in &element.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(PIDF), "basic") => {
                if basic.is_some() {
                    return Err(PidfError::invalid("status with two <basic>"));
                }
                basic = Some(match child.trimmed_text() {
                    "open" => Basic::Open,
                    "closed" => Basic::Closed,
                    _ => return Err(PidfError::invalid("basic must be open or closed")),
                });
            }
            (Some(PIDF), _) => return Err(unexpected(child, "status")),
            _ => skip(child)?,
        }
    }
    Ok(basic)
}

fn contact(element: &Element) -> Result<Contact, PidfError> {
    let uri = uri_text(Some(&element.text), "contact")?;
    let priority_millis = element.attr("priority").map(priority).transpose()?;
    Ok(Contact {
        uri,
        priority_millis,
    })
}

/// A PIDF `qvalue`-like priority: a decimal from 0 to 1 with at most three decimals.
fn priority(text: &str) -> Result<u16, PidfError> {
    let bad = || PidfError::invalid("contact priority must be a decimal from 0 to 1");
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty()
        || fraction.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u16 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction: u16 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
    let millis = whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(bad)?;
    if millis > 1000 {
        Err(bad())
    } else {
        Ok(millis)
    }
}

fn person(element: &Element) -> Result<Person, PidfError> {
    let mut person = Person {
        id: id(element, false)?,
        ..Person::default()
    };
    for child in &element.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(RPID), "activities") => activities(child, &mut person)?,
            (Some(RPID), "user-input") => person.user_input = Some(user_input(child)?),
            (Some(RPID), "place-type") => place_types(child, &mut person.place_types)?,
            (Some(RPID), "time-offset") => person.time_offset = Some(time_offset(child)?),
            (Some(CIPID), "display-name") => person.identity.display_name = optional_text(child),
            (Some(CIPID), "card") => person.identity.card = optional_uri(child, "card")?,
            (Some(CIPID), "homepage") => {
                person.identity.homepage = optional_uri(child, "homepage")?
            }
            (Some(CIPID), "icon") => person.identity.icon = optional_uri(child, "icon")?,
            (Some(HERALD_AVAILABILITY), "availability") => {
                person.availability = Some(availability(child)?)
            }
            (Some(HERALD_AVAILABILITY), "card") => {
                person.card = Some(card(child)?).filter(|c| !c.is_empty())
            }
            (Some(HERALD_AVAILABILITY), "out-of-office") => person.out_of_office = note(child),
            (Some(DATA_MODEL), "note") => push_note(&mut person.notes, child),
            (Some(DATA_MODEL), "timestamp") => person.timestamp = Some(timestamp(child)?),
            _ => skip(child)?,
        }
    }
    Ok(person)
}

fn activities(element: &Element, person: &mut Person) -> Result<(), PidfError> {
    for child in &element.children {
        let activity = match (child.ns.as_deref(), child.name.as_str()) {
            (Some(RPID), "note") => {
                push_note(&mut person.notes, child);
                continue;
            }
            (Some(RPID), "other") => match optional_text(child) {
                Some(text) => Activity::Other(text),
                None => continue,
            },
            (Some(RPID), name) => match Activity::from_element_name(name) {
                Some(activity) => activity,
                None => {
                    skip(child)?;
                    continue;
                }
            },
            _ => {
                skip(child)?;
                continue;
            }
        };
        if !person.activities.contains(&activity) {
            person.activities.push(activity);
        }
    }
    Ok(())
}

fn user_input(element: &Element) -> Result<UserInput, PidfError> {
    match element.trimmed_text() {
        "active" => Ok(UserInput::Active),
        "idle" => Ok(UserInput::Idle),
        _ => Err(PidfError::invalid("user-input must be active or idle")),
    }
}

fn place_types(element: &Element, out: &mut Vec<PlaceType>) -> Result<(), PidfError> {
    for child in &element.children {
        let place = match (child.ns.as_deref(), child.name.as_str()) {
            (Some(LOCATION_TYPE), name) => PlaceType::Location(name.to_owned()),
            (Some(RPID), "other") => match optional_text(child) {
                Some(text) => PlaceType::Other(text),
                None => continue,
            },
            _ => {
                skip(child)?;
                continue;
            }
        };
        if !out.contains(&place) {
            out.push(place);
        }
    }
    Ok(())
}

fn time_offset(element: &Element) -> Result<TimeOffset, PidfError> {
    let minutes: i32 = element
        .trimmed_text()
        .parse()
        .ok()
        .filter(|m: &i32| (-1440..=1440).contains(m))
        .ok_or_else(|| PidfError::invalid("time-offset must be minutes from -1440 to 1440"))?;
    let description = element
        .attr("description")
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    Ok(TimeOffset {
        minutes,
        description,
    })
}

fn availability(element: &Element) -> Result<Availability, PidfError> {
    let text = element.trimmed_text();
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .and_then(Availability::new)
        .ok_or_else(|| {
            PidfError::invalid(format!(
                "availability must be a number from 0 to {}",
                Availability::MAX
            ))
        })
}

fn card(element: &Element) -> Result<ContactCard, PidfError> {
    let mut card = ContactCard::default();
    for child in &element.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(HERALD_AVAILABILITY), "display-name") => card.display_name = optional_text(child),
            (Some(HERALD_AVAILABILITY), "title") => card.title = optional_text(child),
            (Some(HERALD_AVAILABILITY), "email") => card.email = optional_text(child),
            (Some(HERALD_AVAILABILITY), "phone") => card.phone = optional_text(child),
            _ => skip(child)?,
        }
    }
    Ok(card)
}

fn device(element: &Element) -> Result<Device, PidfError> {
    let mut device = Device {
        id: id(element, false)?,
        ..Device::default()
    };
    for child in &element.children {
        match (child.ns.as_deref(), child.name.as_str()) {
            (Some(DATA_MODEL), "deviceID") => {
                device.device_id = Some(uri_text(Some(&child.text), "deviceID")?)
            }
            (Some(DATA_MODEL), "note") => push_note(&mut device.notes, child),
            (Some(DATA_MODEL), "timestamp") => device.timestamp = Some(timestamp(child)?),
            (Some(RPID), "user-input") => device.user_input = Some(user_input(child)?),
            _ => skip(child)?,
        }
    }
    Ok(device)
}

/// An element Herald does not use: fine, unless the sender said it must be understood.
fn skip(element: &Element) -> Result<(), PidfError> {
    let flag = element
        .attr_ns(PIDF, "mustUnderstand")
        .or_else(|| element.attr("mustUnderstand"));
    match flag.map(str::trim) {
        Some("true" | "1") => Err(PidfError::new(
            ErrorKind::Unsupported,
            format!("extension <{}> must be understood", element.label()),
        )),
        _ => Ok(()),
    }
}

fn unexpected(element: &Element, parent: &str) -> PidfError {
    PidfError::invalid(format!("unexpected <{}> in <{parent}>", element.label()))
}

/// The `id` attribute: required on tuples (PIDF), optional elsewhere (many clients
/// omit it on `person` and `device`).
fn id(element: &Element, required: bool) -> Result<String, PidfError> {
    match element.attr("id").map(str::trim) {
        Some(id) if !id.is_empty() && !id.chars().any(char::is_whitespace) => Ok(id.to_owned()),
        Some(_) => Err(PidfError::invalid(format!(
            "bad id on <{}>",
            element.label()
        ))),
        None if required => Err(PidfError::invalid(format!(
            "<{}> without id",
            element.label()
        ))),
        None => Ok(String::new()),
    }
}

fn note(element: &Element) -> Option<Note> {
    let text = element.trimmed_text();
    (!text.is_empty()).then(|| Note {
        text: text.to_owned(),
        lang: element.lang().map(str::to_owned),
    })
}

fn push_note(notes: &mut Vec<Note>, element: &Element) {
    notes.extend(note(element));
}

fn optional_text(element: &Element) -> Option<String> {
    let text = element.trimmed_text();
    (!text.is_empty()).then(|| text.to_owned())
}

fn optional_uri(element: &Element, what: &str) -> Result<Option<String>, PidfError> {
    match element.trimmed_text() {
        "" => Ok(None),
        text => uri_text(Some(text), what).map(Some),
    }
}

/// A URI as PIDF carries it (`xs:anyURI`): not empty, no whitespace. Only the shape
/// is checked — real documents carry `pres:`, `sip:` and even scheme-less entities —
/// and the server compares the entity with the request URI itself.
fn uri_text(text: Option<&str>, what: &str) -> Result<String, PidfError> {
    let text = text
        .map(|t| t.trim_matches(herald_xml::is_xml_space))
        .unwrap_or_default();
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PidfError::invalid(format!("{what} is not a URI")));
    }
    Ok(text.to_owned())
}

/// An `xs:dateTime` as published. Only its characters and length are checked: the
/// server does not interpret timestamps, it only keeps them for watchers.
fn timestamp(element: &Element) -> Result<String, PidfError> {
    let text = element.trimmed_text();
    let plausible = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '+' | '-'));
    if plausible {
        Ok(text.to_owned())
    } else {
        Err(PidfError::invalid(format!(
            "bad <{}>",
            shown(&element.name)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        for (text, millis) in [
            ("0", 0),
            ("1", 1000),
            ("0.8", 800),
            ("0.125", 125),
            (".5", 500),
            ("1.000", 1000),
            (" 0.25 ", 250),
        ] {
            assert_eq!(priority(text), Ok(millis), "{text}");
        }
        for text in [
            "", ".", "1.5", "2", "0.1234", "-0.5", "+1", "0,5", "1e0", "99999999",
        ] {
            assert!(priority(text).is_err(), "{text}");
        }
    }

    #[test]
    fn uris() {
        assert_eq!(uri_text(Some(" sip:a@b "), "x").as_deref(), Ok("sip:a@b"));
        assert!(uri_text(Some("pres:someone@example.com"), "x").is_ok());
        assert!(uri_text(Some("urn:uuid:1234"), "x").is_ok());
        assert!(uri_text(Some("system@kamailio.org"), "x").is_ok());
        for bad in ["", "  ", "sip:a b", "si p:x", "sip:a\u{85}b"] {
            assert!(uri_text(Some(bad), "x").is_err(), "{bad}");
        }
        assert!(uri_text(None, "x").is_err());
    }
}
