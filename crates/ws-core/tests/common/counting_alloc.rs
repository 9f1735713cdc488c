//! A global allocator that counts the bytes the process holds live, for tests that bound memory exactly
//! (RSS is blurred by the allocator's caching and arenas). Shared by `ws-core/tests/idle_memory.rs` and
//! `ws-tokio/tests/serve_memory.rs` (included by path). Each such test is a binary of its own: every
//! allocation in the process counts towards [`live_bytes`]; [`thread_live_bytes`] counts the calling
//! thread's alone, for a test whose connections live on its own thread (the test harness's main thread
//! allocates while the test runs).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting the bytes currently allocated.
pub(crate) struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Bytes allocated minus bytes freed by this thread. Const-initialised, without a destructor, so the
    /// allocator can touch it without allocating.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
    /// Allocations (and reallocations) made by this thread.
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Bytes allocated and not yet freed, process-wide.
pub(crate) fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Allocations and reallocations made by the calling thread so far.
pub(crate) fn thread_allocations() -> usize {
    THREAD_ALLOCATIONS.with(Cell::get)
}

fn count_allocation() {
    let _ = THREAD_ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// Bytes allocated minus bytes freed by the calling thread (exact when what it measures allocates and
/// frees on this thread only).
pub(crate) fn thread_live_bytes() -> isize {
    THREAD_LIVE.with(Cell::get)
}

fn count(delta: isize) {
    LIVE.fetch_add(delta, Ordering::Relaxed);
    // `try_with`: a thread being torn down has no counter left; its last frees count process-wide only.
    let _ = THREAD_LIVE.try_with(|live| live.set(live.get() + delta));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counter is only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
            count_allocation();
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: forwarded as is; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
            count_allocation();
        }
        p
    }
}
