//! Part 1: a global allocator that counts what the current thread allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// What one thread asked of the global allocator. A `realloc` is one call
/// (`reallocs`), not an allocation plus a deallocation; for the byte totals
/// it counts as freeing the old block and allocating the new one, so that
/// `bytes_allocated - bytes_freed` is always the number of bytes live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Successful `alloc` and `alloc_zeroed` calls: new blocks.
    pub allocs: u64,
    /// `dealloc` calls: blocks given back.
    pub deallocs: u64,
    /// Successful `realloc` calls: blocks resized (moved or not).
    pub reallocs: u64,
    /// Bytes of new blocks, plus the new size of each resized block.
    pub bytes_allocated: u64,
    /// Bytes of freed blocks, plus the old size of each resized block.
    pub bytes_freed: u64,
}

impl Counts {
    /// All zero.
    pub const ZERO: Counts = Counts {
        allocs: 0,
        deallocs: 0,
        reallocs: 0,
        bytes_allocated: 0,
        bytes_freed: 0,
    };

    /// What happened between `earlier` and `self` (both from the same thread).
    pub fn since(self, earlier: Counts) -> Counts {
        todo!("subtract field by field")
    }
}

// TODO: a place to keep one `Counts` per thread. Reading or updating it must
// never allocate (the allocator would call itself) and never panic.

/// A global allocator that forwards every call to [`System`] and counts,
/// per thread, the calls that succeeded. Install it in a binary with
///
/// ```ignore
/// #[global_allocator]
/// static GLOBAL: CountingAlloc = CountingAlloc;
/// ```
pub struct CountingAlloc;

// SAFETY: every method passes its arguments unchanged to `System`, which
// implements `GlobalAlloc` correctly. Keep it that way: whatever you add on
// the side must neither allocate nor panic.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `alloc`'s contract (non-zero size);
        // we hand the same layout to `System`.
        let ptr = unsafe { System.alloc(layout) };
        // TODO: count a successful allocation (a null `ptr` is a failure).
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: our caller guarantees `ptr` came from this allocator (so
        // from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        // TODO: count it.
    }

    // TODO: `alloc_zeroed` and `realloc` have default bodies that call
    // `alloc` (and, for `realloc`, `dealloc`). Decide which you must override
    // so that the counts follow the contract of `Counts`.
}

/// The counts of the current thread since it started (zero if
/// [`CountingAlloc`] is not the global allocator).
pub fn thread_counts() -> Counts {
    todo!("read this thread's counts")
}

/// Runs `f` on the current thread and returns its value with what it
/// allocated (allocations made by other threads meanwhile are not counted).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Counts) {
    todo!("the counts before and after `f`")
}
