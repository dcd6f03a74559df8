//! A transaction key carries a hash computed once from its fields; equal keys must hash
//! alike in any hasher, and keys that differ must (almost always) not.
mod common;

use common::{cancel_for, invite, message_request};
use herald_transaction::{KeyHash, TransactionKey};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

#[test]
fn equal_keys_hash_alike_and_different_keys_do_not() {
    let a = TransactionKey::for_request(&message_request("z9hG4bK-one")).expect("key");
    let again = TransactionKey::for_request(&message_request("z9hG4bK-one")).expect("key");
    let other = TransactionKey::for_request(&message_request("z9hG4bK-two")).expect("key");
    assert_eq!(a, again);
    assert_ne!(a, other);
    let state = RandomState::new();
    assert_eq!(state.hash_one(&a), state.hash_one(&again));
    assert_ne!(state.hash_one(&a), state.hash_one(&other));
    let keyed = KeyHash::default();
    assert_eq!(keyed.hash_one(&a), keyed.hash_one(&again));
    assert_ne!(keyed.hash_one(&a), keyed.hash_one(&other));
}

#[test]
fn same_branch_different_method_is_a_different_key() {
    let invite = TransactionKey::for_request(&invite("z9hG4bK-same")).expect("key");
    let cancel = TransactionKey::for_request(&cancel_for("z9hG4bK-same")).expect("key");
    let cancelled = TransactionKey::for_cancelled_invite(&cancel_for("z9hG4bK-same")).expect("key");
    assert_ne!(invite, cancel);
    assert_eq!(invite, cancelled);
    let mut map: HashMap<TransactionKey, &str, KeyHash> = HashMap::default();
    map.insert(invite, "invite");
    map.insert(cancel.clone(), "cancel");
    assert_eq!(map.get(&cancelled), Some(&"invite"));
    assert_eq!(map.get(&cancel), Some(&"cancel"));
    assert_eq!(map.len(), 2);
}
