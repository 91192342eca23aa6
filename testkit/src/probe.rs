//! Seeing that work really runs on several threads, without timing it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a probe call waits for the other thread of a 2-thread pool.
pub const WAIT_FOR_THE_OTHER_THREAD: Duration = Duration::from_secs(2);

/// A callback probe for work running in a rayon pool of two threads. It
/// notes which thread calls it, and holds every caller until both threads
/// of the pool have called it (or until [`WAIT_FOR_THE_OTHER_THREAD`] has
/// passed).
///
/// Work that rayon splits leaves pieces in the first thread's queue while
/// that thread waits here, so the other thread steals one and calls the
/// probe too: the wait ends at once. Serial code calls the probe from one
/// thread only, so the wait expires and the test fails, whatever the
/// machine's speed. (The 2 s bound a failure; no passing run depends on
/// them.)
pub struct TwoThreadProbe {
    seen: [AtomicBool; 2],
    outside_pool: AtomicBool,
    gave_up: AtomicBool,
    deadline: Instant,
}

impl Default for TwoThreadProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl TwoThreadProbe {
    pub fn new() -> Self {
        TwoThreadProbe {
            seen: [AtomicBool::new(false), AtomicBool::new(false)],
            outside_pool: AtomicBool::new(false),
            gave_up: AtomicBool::new(false),
            deadline: Instant::now() + WAIT_FOR_THE_OTHER_THREAD,
        }
    }

    /// Did both threads of the pool call [`hit`](Self::hit)?
    pub fn both_seen(&self) -> bool {
        self.seen.iter().all(|s| s.load(Ordering::SeqCst))
    }

    /// Was [`hit`](Self::hit) called from a thread outside the rayon pool?
    pub fn called_outside_pool(&self) -> bool {
        self.outside_pool.load(Ordering::SeqCst)
    }

    /// Called from the code under test, on the thread doing the work.
    pub fn hit(&self) {
        match rayon::current_thread_index() {
            Some(i) if i < 2 => self.seen[i].store(true, Ordering::SeqCst),
            _ => self.outside_pool.store(true, Ordering::SeqCst),
        }
        while !self.both_seen() && !self.gave_up.load(Ordering::SeqCst) {
            if Instant::now() >= self.deadline {
                self.gave_up.store(true, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}
