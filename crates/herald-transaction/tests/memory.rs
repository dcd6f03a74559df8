//! What a completed non-INVITE server transaction on UDP costs in memory while it waits
//! out Timer J (64*T1 = 32 s): under load those are most of the live transactions, so
//! it should be little more than the final response it may have to resend.
mod common;

use common::{Clock, message_request, timers};
use herald_sip::response::from_request;
use herald_transaction::{Incoming, TransactionLayer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts the bytes the heap holds, so the test sees what the layer keeps.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is
// updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is the one System::alloc needs.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid new size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a completed transaction may hold beyond its encoded response: its key (branch
/// and sent-by), a map entry and its place in the expiry order, with the spare room of
/// both. (The full state machine in the transaction table held about 840.)
const OVERHEAD_LIMIT: isize = 500;

#[test]
fn a_completed_udp_transaction_holds_little_more_than_its_response() {
    const COUNT: usize = 20_000;
    let clock = Clock::new();
    let peer: SocketAddr = "192.0.2.1:5060".parse().expect("address");
    let mut layer = TransactionLayer::new(timers());
    // Requests and responses are made first: only what the layer keeps is counted.
    let work: Vec<_> = (0..COUNT)
        .map(|i| {
            let request = message_request(&format!("z9hG4bKmem{i:08}"));
            let ok = from_request(&request, 200, None, Some("srvtag"));
            (request, ok)
        })
        .collect();
    let response_bytes: usize = work.iter().map(|(_, ok)| ok.to_bytes().len()).sum();

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut outputs = Vec::with_capacity(4);
    for (request, ok) in &work {
        let incoming = layer
            .on_request(request, peer, false, clock.ms(1), &mut outputs)
            .expect("valid request");
        let Incoming::New { key } = incoming else {
            panic!("expected a new transaction, got {incoming:?}");
        };
        layer
            .respond(&key, ok, clock.ms(2), &mut outputs)
            .expect("respond");
        outputs.clear();
    }
    let held = LIVE_BYTES.load(Ordering::Relaxed) - before;
    assert_eq!(layer.len(), COUNT);

    let per_transaction = held / COUNT as isize;
    let response = (response_bytes / COUNT) as isize;
    println!(
        "{COUNT} completed UDP transactions hold {held} bytes: {per_transaction} each, \
         of which {response} the response"
    );
    assert!(
        per_transaction - response <= OVERHEAD_LIMIT,
        "{per_transaction} bytes per transaction for a {response}-byte response"
    );

    // They all go at Timer J, and take their memory with them.
    let mut outputs = Vec::new();
    layer.poll(clock.ms(2 + 32_000), &mut outputs);
    assert!(layer.is_empty());
    assert!(outputs.is_empty());
    drop(outputs);
    let left = LIVE_BYTES.load(Ordering::Relaxed) - before;
    assert!(
        left < held / 10,
        "{left} of {held} bytes still held after Timer J"
    );
}
