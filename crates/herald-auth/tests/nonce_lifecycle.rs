//! NonceManager lifecycle: issue, validate, expire, bind to the client, resist forgery
//! and replay, and stay correct under concurrent use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use herald_auth::{NonceCheck, NonceManager};

const LIFETIME: Duration = Duration::from_secs(300);
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8));

fn manager() -> NonceManager {
    NonceManager::with_secret([42; 32], LIFETIME)
}

#[test]
fn fresh_nonce_is_valid_for_its_client() {
    let m = manager();
    let nonce = m.issue(CLIENT);
    assert_eq!(m.check(&nonce, CLIENT, Some(1), false), NonceCheck::Valid);
    assert_eq!(m.check(&nonce, CLIENT, None, false), NonceCheck::Valid);
}

#[test]
fn nonce_goes_stale_after_its_lifetime() {
    let m = manager();
    let issued = SystemTime::now();
    let nonce = m.issue_at(CLIENT, issued);
    assert_eq!(
        m.check_at(&nonce, CLIENT, Some(1), false, issued + LIFETIME),
        NonceCheck::Valid
    );
    let later = issued + LIFETIME + Duration::from_millis(1);
    assert_eq!(
        m.check_at(&nonce, CLIENT, Some(1), false, later),
        NonceCheck::Stale
    );
    assert_eq!(
        m.check_at(&nonce, CLIENT, Some(1), true, later + LIFETIME),
        NonceCheck::Stale
    );
}

#[test]
fn stale_takes_precedence_over_replay() {
    let m = manager();
    let issued = SystemTime::now();
    let nonce = m.issue_at(CLIENT, issued);
    assert_eq!(
        m.check_at(&nonce, CLIENT, Some(1), true, issued),
        NonceCheck::Valid
    );
    let later = issued + LIFETIME * 2;
    assert_eq!(
        m.check_at(&nonce, CLIENT, Some(1), true, later),
        NonceCheck::Stale
    );
}

#[test]
fn another_client_gets_invalid() {
    let m = manager();
    let nonce = m.issue(CLIENT);
    assert_eq!(
        m.check(&nonce, OTHER_CLIENT, Some(1), false),
        NonceCheck::Invalid
    );
    assert_eq!(
        m.check(&nonce, IpAddr::V6(Ipv6Addr::LOCALHOST), Some(1), false),
        NonceCheck::Invalid
    );
}

#[test]
fn nonce_of_another_secret_is_invalid() {
    let theirs = NonceManager::with_secret([1; 32], LIFETIME).issue(CLIENT);
    assert_eq!(
        manager().check(&theirs, CLIENT, Some(1), false),
        NonceCheck::Invalid
    );
    // A random secret each time: a restarted server does not accept old nonces.
    let before_restart = NonceManager::new(LIFETIME).issue(CLIENT);
    assert_eq!(
        NonceManager::new(LIFETIME).check(&before_restart, CLIENT, Some(1), false),
        NonceCheck::Invalid
    );
}

#[test]
fn same_secret_accepts_across_instances() {
    let nonce = manager().issue(CLIENT);
    assert_eq!(
        manager().check(&nonce, CLIENT, Some(1), false),
        NonceCheck::Valid
    );
}

#[test]
fn tampering_with_any_part_is_invalid() {
    let m = manager();
    let nonce = m.issue(CLIENT);
    for index in 0..nonce.len() {
        let mut bytes = nonce.clone().into_bytes();
        bytes[index] = if bytes[index] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(bytes).expect("still ASCII hex");
        assert_eq!(
            m.check(&forged, CLIENT, Some(1), false),
            NonceCheck::Invalid,
            "position {index}"
        );
    }
}

#[test]
fn extending_the_issue_time_is_invalid_not_stale() {
    let m = manager();
    let issued = SystemTime::now();
    let nonce = m.issue_at(CLIENT, issued);
    // Rewrite issued-at to "now" in an old nonce: the MAC no longer matches.
    let old = m.issue_at(CLIENT, issued - LIFETIME * 10);
    let forged = format!("{}{}", &nonce[..16], &old[16..]);
    assert_eq!(
        m.check_at(&forged, CLIENT, Some(1), false, issued),
        NonceCheck::Invalid
    );
}

#[test]
fn malformed_nonces_are_invalid() {
    let m = manager();
    for nonce in [
        "",
        "abc",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        &"g".repeat(64),
        &"0".repeat(64),
    ] {
        assert_eq!(
            m.check(nonce, CLIENT, Some(1), true),
            NonceCheck::Invalid,
            "{nonce:?}"
        );
    }
}

#[test]
fn nc_replay_and_increase() {
    let m = manager();
    let nonce = m.issue(CLIENT);
    assert_eq!(m.check(&nonce, CLIENT, Some(1), true), NonceCheck::Valid);
    assert_eq!(
        m.check(&nonce, CLIENT, Some(1), false),
        NonceCheck::Replayed
    );
    assert_eq!(m.check(&nonce, CLIENT, Some(1), true), NonceCheck::Replayed);
    assert_eq!(m.check(&nonce, CLIENT, Some(2), true), NonceCheck::Valid);
    assert_eq!(m.check(&nonce, CLIENT, Some(10), true), NonceCheck::Valid);
    assert_eq!(m.check(&nonce, CLIENT, Some(5), true), NonceCheck::Replayed);
    assert_eq!(m.check(&nonce, CLIENT, Some(11), true), NonceCheck::Valid);
}

#[test]
fn unrecorded_checks_do_not_burn_the_counter() {
    let m = manager();
    let nonce = m.issue(CLIENT);
    // Wrong password: the registrar checks without recording, the response fails.
    assert_eq!(m.check(&nonce, CLIENT, Some(1), false), NonceCheck::Valid);
    // The client retries with the same nc and the right password.
    assert_eq!(m.check(&nonce, CLIENT, Some(1), false), NonceCheck::Valid);
    assert_eq!(m.check(&nonce, CLIENT, Some(1), true), NonceCheck::Valid);
    assert_eq!(m.check(&nonce, CLIENT, Some(1), true), NonceCheck::Replayed);
}

#[test]
fn nonce_without_qop_is_single_use() {
    let m = manager();
    let nonce = m.issue(CLIENT);
    assert_eq!(m.check(&nonce, CLIENT, None, true), NonceCheck::Valid);
    assert_eq!(m.check(&nonce, CLIENT, None, true), NonceCheck::Replayed);
    assert_eq!(m.check(&nonce, CLIENT, Some(2), true), NonceCheck::Replayed);
}

#[test]
fn counters_are_per_nonce() {
    let m = manager();
    let first = m.issue(CLIENT);
    let second = m.issue(CLIENT);
    assert_ne!(first, second);
    assert_eq!(m.check(&first, CLIENT, Some(1), true), NonceCheck::Valid);
    assert_eq!(m.check(&second, CLIENT, Some(1), true), NonceCheck::Valid);
}

#[test]
fn bounded_tracking_never_reopens_a_replay() {
    let m = manager().with_max_tracked_nonces(32);
    let start = SystemTime::now();
    let nonces: Vec<String> = (0..200u64)
        .map(|i| m.issue_at(CLIENT, start + Duration::from_millis(i)))
        .collect();
    let now = start + Duration::from_secs(1);
    for nonce in &nonces {
        assert_eq!(
            m.check_at(nonce, CLIENT, Some(1), true, now),
            NonceCheck::Valid
        );
    }
    // Every nonce, remembered or evicted, refuses its old nc.
    for nonce in &nonces {
        let again = m.check_at(nonce, CLIENT, Some(1), true, now);
        assert!(
            matches!(again, NonceCheck::Replayed | NonceCheck::Stale),
            "{again:?}"
        );
    }
    // The most recent ones are still remembered, so they report a replay rather than stale.
    let last = nonces.last().expect("200 nonces");
    assert_eq!(
        m.check_at(last, CLIENT, Some(1), true, now),
        NonceCheck::Replayed
    );
    assert_eq!(
        m.check_at(last, CLIENT, Some(2), true, now),
        NonceCheck::Valid
    );
}

#[test]
fn manager_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<NonceManager>();
}

#[test]
fn concurrent_recording_accepts_each_nc_once() {
    let m = Arc::new(manager());
    let nonce = Arc::new(m.issue(CLIENT));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = Arc::clone(&m);
            let nonce = Arc::clone(&nonce);
            thread::spawn(move || {
                (1..=500u32)
                    .filter(|&nc| m.check(&nonce, CLIENT, Some(nc), true) == NonceCheck::Valid)
                    .count()
            })
        })
        .collect();
    let accepted: usize = threads
        .into_iter()
        .map(|t| t.join().expect("thread panicked"))
        .sum();
    // Accepted values strictly increase across all threads, so no nc is accepted twice.
    assert!((1..=500).contains(&accepted), "{accepted}");
    assert_eq!(
        m.check(&nonce, CLIENT, Some(500), true),
        NonceCheck::Replayed
    );
}

#[test]
fn many_threads_many_nonces() {
    let m = Arc::new(manager());
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, t));
                for _ in 0..2_000 {
                    let nonce = m.issue(client);
                    assert_eq!(m.check(&nonce, client, Some(1), true), NonceCheck::Valid);
                    assert_eq!(m.check(&nonce, client, Some(1), true), NonceCheck::Replayed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread panicked");
    }
}
