//! The PIDF document a watcher receives: the aggregate, filtered by the watcher's
//! access level, as standard PIDF + RPID (what every client reads) plus the Herald
//! availability extension in `<person>` (what Herald-aware clients read).
//!
//! The output is deterministic: the same aggregate, entity and level always give the
//! same bytes (ids are derived from the entity, no timestamps are added), so the
//! server can compare documents to skip needless NOTIFYs, and a blocked watcher gets
//! exactly the bytes of an offline user with no data.
//!
//! PIDF elements use the default namespace and the root is an unprefixed `<presence>`,
//! because some clients (PJSIP among them) match element names literally.

use crate::access::AccessLevel;
use crate::activity::Activity;
use crate::aggregate::Aggregate;
use crate::availability::{activities_availability, rpid_view};
use crate::model::{Device, Note, PlaceType, UserInput};
use crate::namespaces::{CIPID, DATA_MODEL, HERALD_AVAILABILITY, LOCATION_TYPE, PIDF, RPID};
use herald_xml::XmlWriter;

/// The PIDF document for a watcher at `level` watching `entity_uri`, whose presence is
/// `aggregate`.
pub fn render(aggregate: &Aggregate, entity_uri: &str, level: AccessLevel) -> String {
    if level == AccessLevel::Blocked {
        return render(&Aggregate::offline(), entity_uri, AccessLevel::Public);
    }
    let view = rpid_view(aggregate.availability);
    let id_suffix = id_suffix(entity_uri);
    let notes_visible = level.sees_notes_and_card();
    let everything_visible = level.sees_everything();
    let card = aggregate
        .card
        .as_ref()
        .filter(|c| notes_visible && !c.is_empty());
    let identity = Some(&aggregate.identity).filter(|i| notes_visible && !i.is_empty());
    let place_types = if everything_visible {
        aggregate.place_types.as_slice()
    } else {
        &[]
    };
    let time_offset = aggregate
        .time_offset
        .as_ref()
        .filter(|_| everything_visible);
    let devices = if everything_visible {
        aggregate.devices.as_slice()
    } else {
        &[]
    };
    let out_of_office = aggregate.out_of_office.as_ref().filter(|_| notes_visible);
    // Plain clients know no out-of-office note: they see it as the note when there is
    // no personal one.
    let personal: &[Note] = if level.sees_personal_note() {
        &aggregate.notes
    } else {
        &[]
    };
    let notes: &[Note] = match (personal, out_of_office) {
        ([], Some(oof)) => std::slice::from_ref(oof),
        (notes, _) => notes,
    };
    // Published activities only when they say what the number says (a client that
    // ignores the Herald element must land in the same band).
    let idle = view.user_input == Some(UserInput::Idle);
    let published_agree = activities_availability(&aggregate.activities, idle).band()
        == aggregate.availability.band();
    let activities: Vec<&Activity> =
        if notes_visible && !aggregate.activities.is_empty() && published_agree {
            aggregate.activities.iter().collect()
        } else {
            view.activity.iter().collect()
        };

    let mut w = XmlWriter::new();
    let mut root_attrs = vec![
        ("xmlns", PIDF),
        ("xmlns:dm", DATA_MODEL),
        ("xmlns:rpid", RPID),
    ];
    if identity.is_some() {
        root_attrs.push(("xmlns:c", CIPID));
    }
    if place_types
        .iter()
        .any(|p| matches!(p, PlaceType::Location(_)))
    {
        root_attrs.push(("xmlns:lt", LOCATION_TYPE));
    }
    root_attrs.push(("xmlns:ha", HERALD_AVAILABILITY));
    root_attrs.push(("entity", entity_uri));
    w.open("presence", &root_attrs);
    w.newline();

    let tuple_id = format!("t{id_suffix}");
    w.open("tuple", &[("id", &tuple_id)]);
    w.open("status", &[]);
    w.text_element("basic", &[], view.basic.as_str());
    w.close("status");
    w.close("tuple");
    w.newline();

    let person_id = format!("p{id_suffix}");
    w.open("dm:person", &[("id", &person_id)]);
    if !activities.is_empty() {
        w.open("rpid:activities", &[]);
        for activity in activities {
            match activity {
                Activity::Other(text) => w.text_element("rpid:other", &[], text),
                named => w.empty(&format!("rpid:{}", named.element_name()), &[]),
            }
        }
        w.close("rpid:activities");
    }
    if let Some(input) = view.user_input {
        w.text_element("rpid:user-input", &[], input.as_str());
    }
    if !place_types.is_empty() {
        w.open("rpid:place-type", &[]);
        for place in place_types {
            match place {
                PlaceType::Location(name) => w.empty(&format!("lt:{name}"), &[]),
                PlaceType::Other(text) => w.text_element("rpid:other", &[], text),
            }
        }
        w.close("rpid:place-type");
    }
    if let Some(offset) = time_offset {
        let minutes = offset.minutes.to_string();
        match &offset.description {
            Some(description) => w.text_element(
                "rpid:time-offset",
                &[("description", description)],
                &minutes,
            ),
            None => w.text_element("rpid:time-offset", &[], &minutes),
        }
    }
    if let Some(identity) = identity {
        let fields = [
            ("c:display-name", &identity.display_name),
            ("c:card", &identity.card),
            ("c:homepage", &identity.homepage),
            ("c:icon", &identity.icon),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                w.text_element(name, &[], value);
            }
        }
    }
    w.text_element(
        "ha:availability",
        &[],
        &aggregate.availability.value().to_string(),
    );
    if let Some(card) = card {
        w.open("ha:card", &[]);
        let fields = [
            ("ha:display-name", &card.display_name),
            ("ha:title", &card.title),
            ("ha:email", &card.email),
            ("ha:phone", &card.phone),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                w.text_element(name, &[], value);
            }
        }
        w.close("ha:card");
    }
    if let Some(oof) = out_of_office {
        note(&mut w, "ha:out-of-office", oof);
    }
    for n in notes {
        note(&mut w, "dm:note", n);
    }
    w.close("dm:person");
    w.newline();

    for (index, d) in devices.iter().enumerate() {
        device(&mut w, d, &format!("d{id_suffix}{index}"));
        w.newline();
    }
    w.close("presence");
    w.finish()
}

fn note(w: &mut XmlWriter, name: &str, note: &Note) {
    match &note.lang {
        Some(lang) => w.text_element(name, &[("xml:lang", lang)], &note.text),
        None => w.text_element(name, &[], &note.text),
    }
}

fn device(w: &mut XmlWriter, device: &Device, fallback_id: &str) {
    let id = if device.id.is_empty() {
        fallback_id
    } else {
        device.id.as_str()
    };
    w.open("dm:device", &[("id", id)]);
    if let Some(input) = device.user_input {
        w.text_element("rpid:user-input", &[], input.as_str());
    }
    if let Some(device_id) = &device.device_id {
        w.text_element("dm:deviceID", &[], device_id);
    }
    for n in &device.notes {
        note(w, "dm:note", n);
    }
    if let Some(timestamp) = &device.timestamp {
        w.text_element("dm:timestamp", &[], timestamp);
    }
    w.close("dm:device");
}

/// A stable id suffix for the documents of one presentity (FNV-1a of the entity):
/// watchers that track tuples by id see the same tuple across NOTIFYs.
fn id_suffix(entity: &str) -> String {
    let hash = entity
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{hash:016x}")
}
