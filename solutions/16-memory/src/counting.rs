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
        Counts {
            allocs: self.allocs - earlier.allocs,
            deallocs: self.deallocs - earlier.deallocs,
            reallocs: self.reallocs - earlier.reallocs,
            bytes_allocated: self.bytes_allocated - earlier.bytes_allocated,
            bytes_freed: self.bytes_freed - earlier.bytes_freed,
        }
    }
}

// One set of counters per thread. `const { ... }` matters: a const-initialised
// thread local of a type without `Drop` needs no lazy initialisation and no
// destructor registration, so touching it never allocates. An allocator whose
// bookkeeping allocates would call itself again, without end.
thread_local! {
    static COUNTS: Cell<Counts> = const { Cell::new(Counts::ZERO) };
}

fn record(update: impl FnOnce(&mut Counts)) {
    // `try_with`, not `with`: while a thread is being torn down, its locals
    // may be gone, and an allocator must never panic. Those few calls are
    // simply not counted.
    let _ = COUNTS.try_with(|cell| {
        let mut counts = cell.get();
        update(&mut counts);
        cell.set(counts);
    });
}

/// A global allocator that forwards every call to [`System`] and counts,
/// per thread, the calls that succeeded. Install it in a binary with
///
/// ```ignore
/// #[global_allocator]
/// static GLOBAL: CountingAlloc = CountingAlloc;
/// ```
pub struct CountingAlloc;

// SAFETY: every method passes its arguments unchanged to `System`, which
// implements `GlobalAlloc` correctly; the counting on the side touches only
// a thread-local `Cell` and neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `alloc`'s contract (non-zero size);
        // we hand the same layout to `System`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record(|c| {
                c.allocs += 1;
                c.bytes_allocated += layout.size() as u64;
            });
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(|c| {
                c.allocs += 1;
                c.bytes_allocated += layout.size() as u64;
            });
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: our caller guarantees `ptr` came from this allocator (so
        // from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        record(|c| {
            c.deallocs += 1;
            c.bytes_freed += layout.size() as u64;
        });
    }

    // Without this method the trait's default `realloc` would call our
    // `alloc`, copy, and call our `dealloc`: a growing `Vec` would look like
    // a new allocation each time, and `System` could not grow in place.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: our caller guarantees `ptr` came from `System` with
        // `layout`, and that `new_size` is non-zero and does not overflow
        // when rounded up to the alignment.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            record(|c| {
                c.reallocs += 1;
                c.bytes_freed += layout.size() as u64;
                c.bytes_allocated += new_size as u64;
            });
        }
        new_ptr
    }
}

/// The counts of the current thread since it started (zero if
/// [`CountingAlloc`] is not the global allocator).
pub fn thread_counts() -> Counts {
    COUNTS.try_with(Cell::get).unwrap_or_default()
}

/// Runs `f` on the current thread and returns its value with what it
/// allocated (allocations made by other threads meanwhile are not counted).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Counts) {
    let before = thread_counts();
    let value = f();
    (value, thread_counts().since(before))
}
