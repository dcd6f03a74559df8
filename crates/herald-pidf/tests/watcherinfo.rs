//! Watcher information documents: building, reading back, the RFC 3858 example, and
//! malformed input.

use herald_pidf::watcherinfo::{
    DocState, Watcher, WatcherEvent, WatcherInfoDoc, WatcherList, WatcherStatus, parse_watcherinfo,
};
use herald_pidf::{ErrorKind, Limits};

fn sample() -> WatcherInfoDoc {
    let mut bob = Watcher::new(
        "w1",
        "sip:bob@example.com",
        WatcherStatus::Pending,
        WatcherEvent::Subscribe,
    )
    .with_display_name("Bob \"The Builder\" <b>");
    bob.expiration = Some(3600);
    bob.lang = Some("en".into());
    let mut carol = Watcher::new(
        "w2",
        "sip:carol@example.com",
        WatcherStatus::Active,
        WatcherEvent::Approved,
    );
    carol.duration_subscribed = Some(509);
    WatcherInfoDoc::new("sip:alice@example.com", "presence", 3, DocState::Full)
        .with_watcher(bob)
        .with_watcher(carol)
        .with_watcher(Watcher::new(
            "w3",
            "sip:eve@example.com",
            WatcherStatus::Terminated,
            WatcherEvent::Rejected,
        ))
}

#[test]
fn built_documents_read_back_identically() {
    let doc = sample();
    let xml = doc.to_xml();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"3\" state=\"full\">"), "{xml}");
    assert!(
        xml.contains("<watcher-list resource=\"sip:alice@example.com\" package=\"presence\">"),
        "{xml}"
    );
    assert!(
        xml.contains("display-name=\"Bob &quot;The Builder&quot; &lt;b&gt;\""),
        "{xml}"
    );
    assert_eq!(
        parse_watcherinfo(xml.as_bytes(), &Limits::DOCUMENT),
        Ok(doc)
    );
}

#[test]
fn every_status_and_event_round_trips() {
    let statuses = [
        WatcherStatus::Pending,
        WatcherStatus::Active,
        WatcherStatus::Waiting,
        WatcherStatus::Terminated,
    ];
    let events = [
        WatcherEvent::Subscribe,
        WatcherEvent::Approved,
        WatcherEvent::Deactivated,
        WatcherEvent::Probation,
        WatcherEvent::Rejected,
        WatcherEvent::Timeout,
        WatcherEvent::Giveup,
        WatcherEvent::Noresource,
    ];
    let mut doc = WatcherInfoDoc::new("sip:alice@example.com", "presence", 0, DocState::Partial);
    for (i, event) in events.iter().enumerate() {
        let status = statuses[i % statuses.len()];
        doc = doc.with_watcher(Watcher::new(
            format!("id{i}"),
            format!("sip:w{i}@example.com"),
            status,
            *event,
        ));
    }
    let back = parse_watcherinfo(doc.to_xml().as_bytes(), &Limits::DOCUMENT).unwrap();
    assert_eq!(back, doc);
    assert_eq!(WatcherEvent::Giveup.to_string(), "giveup");
    assert_eq!(
        "waiting".parse::<WatcherStatus>(),
        Ok(WatcherStatus::Waiting)
    );
}

#[test]
fn several_lists_and_an_empty_one() {
    let doc = WatcherInfoDoc {
        version: 7,
        state: DocState::Full,
        lists: vec![
            WatcherList::new("sip:a@example.com", "presence"),
            WatcherList::new("sip:a@example.com", "message-summary"),
        ],
    };
    assert_eq!(
        parse_watcherinfo(doc.to_xml().as_bytes(), &Limits::DOCUMENT),
        Ok(doc)
    );
    let none = WatcherInfoDoc {
        version: 0,
        state: DocState::Full,
        lists: Vec::new(),
    }
    .with_watcher(Watcher::new(
        "x",
        "sip:x@example.com",
        WatcherStatus::Active,
        WatcherEvent::Approved,
    ));
    assert!(none.lists.is_empty());
}

#[test]
fn reads_the_rfc_3858_example() {
    let xml = r#"<?xml version="1.0"?>
   <watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"
                version="0" state="full">
     <watcher-list resource="sip:professor@example.net" package="presence">
       <watcher status="active"
                id="8ajksjda7s"
                duration-subscribed="509"
                event="approved" >sip:userA@example.net</watcher>
       <watcher status="pending"
                id="hh8juja87s997-ass7"
                display-name="Mr. Subscriber"
                event="subscribe">sip:userB@example.org</watcher>
     </watcher-list>
   </watcherinfo>"#;
    let doc = parse_watcherinfo(xml.as_bytes(), &Limits::DOCUMENT).unwrap();
    assert_eq!(doc.version, 0);
    assert_eq!(doc.lists[0].resource, "sip:professor@example.net");
    let watchers = &doc.lists[0].watchers;
    assert_eq!(watchers.len(), 2);
    assert_eq!(watchers[0].duration_subscribed, Some(509));
    assert_eq!(watchers[0].uri, "sip:userA@example.net");
    assert_eq!(watchers[1].display_name.as_deref(), Some("Mr. Subscriber"));
    assert_eq!(
        (watchers[1].status, watchers[1].event),
        (WatcherStatus::Pending, WatcherEvent::Subscribe)
    );
}

#[test]
fn refuses_invalid_documents() {
    let ns = "xmlns='urn:ietf:params:xml:ns:watcherinfo'";
    let list = |watcher: &str| {
        format!(
            "<watcherinfo {ns} version='1' state='full'><watcher-list resource='sip:a@b' package='presence'>{watcher}</watcher-list></watcherinfo>"
        )
    };
    let cases = [
        (
            "<watcherinfo version='1' state='full'/>".to_owned(),
            "root element is not <watcherinfo>",
        ),
        (
            format!("<watcherinfo {ns} state='full'/>"),
            "watcherinfo version missing or too large",
        ),
        (
            format!("<watcherinfo {ns} version='-1' state='full'/>"),
            "bad version on <watcherinfo>",
        ),
        (
            format!("<watcherinfo {ns} version='99999999999' state='full'/>"),
            "watcherinfo version missing or too large",
        ),
        (
            format!("<watcherinfo {ns} version='1' state='most'/>"),
            "watcherinfo state must be full or partial",
        ),
        (
            format!(
                "<watcherinfo {ns} version='1' state='full'><watcher-list package='presence'/></watcherinfo>"
            ),
            "<watcher-list> without resource",
        ),
        (
            format!("<watcherinfo {ns} version='1' state='full'><bogus/></watcherinfo>"),
            "unexpected <bogus> in <watcherinfo>",
        ),
        (
            list("<watcher id='1' status='happy' event='subscribe'>sip:x@y</watcher>"),
            "bad watcher status",
        ),
        (
            list("<watcher id='1' status='active' event='party'>sip:x@y</watcher>"),
            "bad watcher event",
        ),
        (
            list("<watcher id='1' status='active' event='approved'> </watcher>"),
            "watcher without URI",
        ),
        (
            list("<watcher status='active' event='approved'>sip:x@y</watcher>"),
            "<watcher> without id",
        ),
        (
            list(
                "<watcher id='1' status='active' event='approved' expiration='soon'>sip:x@y</watcher>",
            ),
            "bad expiration on <watcher>",
        ),
        (list("<other/>"), "unexpected <other> in <watcher-list>"),
    ];
    for (xml, reason) in cases {
        let err = parse_watcherinfo(xml.as_bytes(), &Limits::DOCUMENT).expect_err(&xml);
        assert_eq!(
            (err.kind(), err.reason()),
            (ErrorKind::Invalid, reason),
            "{xml}"
        );
    }
    // Extensions from other namespaces are allowed by the schema.
    let extended = list(
        "<x:note xmlns:x='urn:example'/><watcher id='1' status='active' event='approved'>sip:x@y</watcher>",
    );
    assert_eq!(
        parse_watcherinfo(extended.as_bytes(), &Limits::DOCUMENT)
            .unwrap()
            .lists[0]
            .watchers
            .len(),
        1
    );
}
