//! How many offline messages a second the store commits, for each `synchronous` setting:
//! the cost of syncing the WAL at every commit.
//!
//! `cargo run --release -p herald-store --example offline_throughput -- [MESSAGES] [WRITERS] [DIR]`
//! (defaults: 2000 messages, 8 concurrent writers, a temporary directory; give a DIR on the
//! disk the server's data directory will use, since the figures are the disk's).
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use herald_store::{Durability, NewOfflineMessage, NewUser, SqliteStore, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let messages: u32 = args.next().map_or(Ok(2000), |a| a.parse())?;
    let writers: u32 = args.next().map_or(Ok(8), |a| a.parse())?;
    let base = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir(),
    };
    let dir = base.join(format!("herald-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "{messages} offline messages from {writers} concurrent writers, in {}",
        dir.display()
    );
    for durability in [Durability::Normal, Durability::Full] {
        let path = dir.join(format!("{durability}.db"));
        let store = Arc::new(SqliteStore::open_with(&path, durability).await?);
        for n in 0..writers {
            store.add_user(user(n)).await?;
        }
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            let share = messages / writers;
            tasks.push(tokio::spawn(async move {
                for i in 0..share {
                    store.enqueue_offline(message(w, i), u32::MAX).await?;
                }
                Ok::<_, herald_store::StoreError>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let secs = start.elapsed().as_secs_f64();
        let done = f64::from(messages / writers * writers);
        println!(
            "synchronous={durability:<6}  {:>8.0} messages/s  {:>7.3} ms each",
            done / secs,
            secs * 1000.0 / done
        );
        store.close().await;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn user(n: u32) -> NewUser {
    NewUser {
        username: format!("user{n}"),
        domain: "example.com".into(),
        display_name: None,
        ha1_md5: format!("{n:032x}"),
        ha1_sha256: format!("{n:064x}"),
    }
}

fn message(recipient: u32, i: u32) -> NewOfflineMessage {
    NewOfflineMessage {
        recipient: format!("user{recipient}@example.com"),
        sender: "sender@example.com".into(),
        from_header: "<sip:sender@example.com>".into(),
        content_type: "text/plain".into(),
        body: format!("message {i} with a body about as long as a chat line").into_bytes(),
        date: "Sat, 21 Nov 2026 12:00:00 GMT".into(),
        call_id: format!("{recipient}-{i}@client"),
        received_at_ms: 1_790_000_000_000,
        expires_at_ms: 1_790_000_000_000 + 86_400_000,
    }
}
