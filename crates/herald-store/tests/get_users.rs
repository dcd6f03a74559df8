//! Looking many users up at once (the authenticator's cache refreshing its entries).
mod common;

use common::numbered_users;
use herald_store::{SqliteStore, Store};

#[tokio::test]
async fn many_users_come_back_in_the_order_asked_with_gaps_for_the_unknown() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    // More than one statement's worth, so the batches are stitched together.
    store.import_users(numbered_users(1_200)).await.unwrap();
    let mut aors: Vec<String> = (0..1_200)
        .rev()
        .map(|i| format!("user{i}@example.com"))
        .collect();
    aors.insert(3, "nobody@example.com".to_owned());
    aors.insert(7, "no-at-sign".to_owned());
    // The domain is matched case-insensitively, as by get_user.
    aors.push("user5@EXAMPLE.com".to_owned());

    let users = store.get_users(&aors).await.unwrap();
    assert_eq!(users.len(), aors.len());
    for (aor, user) in aors.iter().zip(&users) {
        let one = store.get_user(aor).await.ok().flatten();
        assert_eq!(
            user.as_ref().map(|u| &u.aor),
            one.as_ref().map(|u| &u.aor),
            "{aor}"
        );
    }
    assert!(users[3].is_none() && users[7].is_none());
    assert_eq!(
        users
            .last()
            .and_then(|u| u.as_ref())
            .map(|u| u.ha1_md5.clone()),
        Some(format!("{:032x}", 5))
    );
    assert_eq!(users.iter().flatten().count(), 1_201);
    assert!(store.get_users(&[]).await.unwrap().is_empty());
}
