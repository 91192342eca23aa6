//! The tests of exercise 17. Values of `Tracked` record their own drops, so
//! the tests see a value that is never dropped (a leak) or dropped twice.
//! Every test runs under testkit's watchdog: a loop that never ends fails
//! with a message instead of hanging the run.
//!
//! Under Miri (`cargo +nightly miri test -p exercise-17`) the loops are
//! shorter: Miri interprets every instruction and checks every access.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use exercise_17::{Consumer, Producer, RingBuffer, spsc};

/// How many operations the long tests run: fewer under Miri.
const OPS: usize = if cfg!(miri) { 100 } else { 20_000 };
/// How many values the threaded tests send across.
const SENT: usize = if cfg!(miri) { 100 } else { 10_000 };
const LIMIT: Duration = Duration::from_secs(if cfg!(miri) { 60 } else { 5 });

// Who dropped what: each `Tracked` writes its id into its thread's log when
// it is dropped. A `Tracked` owns no memory (the log is a thread-local), so a
// buggy buffer that drops one twice shows up in the log instead of freeing
// memory twice and crashing the whole test run. Each test runs on its own
// thread (testkit::within), so each has its own log.
thread_local! {
    static DROPPED: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

struct DropLog;

impl DropLog {
    fn new() -> DropLog {
        DROPPED.with(|log| log.borrow_mut().clear());
        DropLog
    }

    fn track(&self, id: u32) -> Tracked {
        Tracked {
            id,
            panic_on_drop: false,
        }
    }

    fn dropped(&self) -> Vec<u32> {
        DROPPED.with(|log| log.borrow().clone())
    }

    /// Fails unless exactly the ids `expected` were dropped, each once.
    #[track_caller]
    fn assert_dropped_once(&self, expected: &[u32], what: &str) {
        let mut dropped = self.dropped();
        dropped.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(
            dropped, expected,
            "{what}: these ids should have been dropped exactly once each \
             (an id missing was leaked, an id twice was dropped twice)"
        );
    }
}

struct Tracked {
    id: u32,
    panic_on_drop: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPPED.with(|log| log.borrow_mut().push(self.id));
        if self.panic_on_drop {
            panic!("Tracked {} panics in drop, as the test asked", self.id);
        }
    }
}

#[track_caller]
fn run<T: Send + 'static>(expected: &str, body: impl FnOnce() -> T + Send + 'static) -> T {
    testkit::within(LIMIT, expected, body)
}

/// Pops everything, oldest first.
fn drain<T>(ring: &mut RingBuffer<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(value) = ring.pop() {
        out.push(value);
    }
    out
}

// ---------------------------------------------------------------- part (a)

#[test]
fn a_new_buffer_is_empty_and_has_the_requested_capacity() {
    run("with_capacity(4) to return an empty buffer", || {
        let ring: RingBuffer<String> = RingBuffer::with_capacity(4);
        assert_eq!(ring.capacity(), 4, "capacity() of with_capacity(4)");
        assert_eq!(ring.len(), 0, "len() of a new buffer");
        assert!(ring.is_empty(), "a new buffer is empty");
        assert!(!ring.is_full(), "a new buffer of capacity 4 is not full");
    });
}

#[test]
fn pop_returns_values_in_the_order_they_were_pushed() {
    run("push and pop to return", || {
        let mut ring = RingBuffer::with_capacity(4);
        for word in ["a", "b", "c"] {
            assert_eq!(ring.push(word), Ok(()), "push into a buffer with room");
        }
        assert_eq!(ring.len(), 3, "len() after three pushes");
        assert_eq!(ring.pop(), Some("a"), "the oldest value comes out first");
        assert_eq!(ring.pop(), Some("b"));
        assert_eq!(ring.pop(), Some("c"));
        assert_eq!(ring.pop(), None, "pop on an empty buffer returns None");
        assert!(ring.is_empty());
    });
}

#[test]
fn a_buffer_holds_exactly_capacity_values() {
    run("push to stop accepting at the capacity", || {
        let mut ring = RingBuffer::with_capacity(5);
        for i in 0..5 {
            assert_eq!(
                ring.push(i),
                Ok(()),
                "push number {} of 5 must succeed",
                i + 1
            );
        }
        assert!(
            ring.is_full(),
            "after 5 pushes a buffer of capacity 5 is full"
        );
        assert_eq!(ring.len(), 5);
        assert_eq!(ring.push(5), Err(5), "the sixth push must be refused");
    });
}

#[test]
fn push_into_a_full_buffer_gives_the_value_back_and_changes_nothing() {
    run("push on a full buffer to return Err(value)", || {
        let log = DropLog::new();
        let mut ring = RingBuffer::with_capacity(3);
        for id in 1..=3 {
            assert!(ring.push(log.track(id)).is_ok());
        }
        // After a pop and a push, the tail has wrapped to slot 0.
        assert_eq!(ring.pop().map(|t| t.id), Some(1));
        assert!(ring.push(log.track(4)).is_ok());
        let refused = ring
            .push(log.track(99))
            .expect_err("push into a full buffer must return Err");
        assert_eq!(refused.id, 99, "the refused value comes back in the Err");
        assert!(
            log.dropped() == [1],
            "a refused push must not drop anything (dropped so far: {:?})",
            log.dropped()
        );
        let ids: Vec<u32> = drain(&mut ring).iter().map(|t| t.id).collect();
        assert_eq!(
            ids,
            [2, 3, 4],
            "a refused push must not overwrite any value"
        );
    });
}

#[test]
fn peek_shows_the_oldest_value_without_removing_it() {
    run("peek to return", || {
        let mut ring = RingBuffer::with_capacity(2);
        assert_eq!(ring.peek(), None, "peek on an empty buffer");
        ring.push(10).unwrap();
        ring.push(20).unwrap();
        assert_eq!(ring.peek(), Some(&10), "peek shows the oldest value");
        assert_eq!(ring.peek(), Some(&10), "a second peek shows the same value");
        assert_eq!(ring.len(), 2, "peek does not remove the value");
        ring.pop();
        assert_eq!(
            ring.peek(),
            Some(&20),
            "after a pop, peek shows the next value"
        );
    });
}

#[test]
fn wraps_around_many_times_at_capacities_that_are_not_powers_of_two() {
    run("a long run of pushes and pops to finish", || {
        for capacity in [1, 2, 3, 5, 7, 8] {
            let mut ring = RingBuffer::with_capacity(capacity);
            let mut model = VecDeque::new();
            let mut next = 0u64;
            // A fixed pattern of bursts: push up to 3, pop up to 2, so the
            // buffer fills, empties and wraps again and again.
            for step in 0..OPS {
                if step % 5 < 3 {
                    let result = ring.push(next);
                    if model.len() < capacity {
                        assert_eq!(
                            result,
                            Ok(()),
                            "capacity {capacity}, step {step}: push with room"
                        );
                        model.push_back(next);
                    } else {
                        assert_eq!(
                            result,
                            Err(next),
                            "capacity {capacity}, step {step}: push when full"
                        );
                    }
                    next += 1;
                } else {
                    assert_eq!(
                        ring.pop(),
                        model.pop_front(),
                        "capacity {capacity}, step {step}: pop must return the oldest value"
                    );
                }
                assert_eq!(
                    ring.len(),
                    model.len(),
                    "capacity {capacity}, step {step}: len()"
                );
                assert_eq!(
                    ring.is_full(),
                    model.len() == capacity,
                    "capacity {capacity}: is_full()"
                );
            }
        }
    });
}

#[test]
fn iter_yields_the_values_oldest_first_after_wrapping() {
    run("iter to yield the values", || {
        let mut ring = RingBuffer::with_capacity(4);
        for i in 0..4 {
            ring.push(i).unwrap();
        }
        ring.pop();
        ring.pop();
        ring.push(4).unwrap();
        ring.push(5).unwrap();
        // Slots now hold [4, 5, 2, 3] and the oldest value is in slot 2.
        let seen: Vec<i32> = ring.iter().copied().collect();
        assert_eq!(
            seen,
            [2, 3, 4, 5],
            "iter must start at the oldest value and wrap"
        );
        let again: Vec<i32> = (&ring).into_iter().copied().collect();
        assert_eq!(
            again,
            [2, 3, 4, 5],
            "`for x in &ring` iterates the same way"
        );
        assert_eq!(ring.len(), 4, "iterating does not remove values");
        assert_eq!(
            ring.iter().len(),
            4,
            "the iterator knows how many values are left"
        );
    });
}

#[test]
fn iter_on_an_empty_buffer_yields_nothing() {
    run("iter to yield nothing", || {
        let mut ring = RingBuffer::with_capacity(3);
        assert_eq!(ring.iter().next(), None::<&u8>);
        ring.push(1u8).unwrap();
        ring.pop();
        assert_eq!(
            ring.iter().count(),
            0,
            "a buffer emptied by pop iterates nothing"
        );
    });
}

#[test]
fn dropping_the_buffer_drops_each_remaining_value_once() {
    run("the buffer to drop its values", || {
        let log = DropLog::new();
        let mut ring = RingBuffer::with_capacity(3);
        for id in 1..=3 {
            assert!(ring.push(log.track(id)).is_ok());
        }
        drop(ring.pop()); // id 1, dropped by us
        assert!(ring.push(log.track(4)).is_ok()); // wraps to slot 0
        drop(ring);
        log.assert_dropped_once(&[1, 2, 3, 4], "after dropping a buffer that held 2, 3, 4");
    });
}

#[test]
fn popped_values_are_dropped_by_their_new_owner_only() {
    run("popped values to be dropped once", || {
        let log = DropLog::new();
        let mut ring = RingBuffer::with_capacity(2);
        for round in 0..OPS as u32 / 10 {
            assert!(ring.push(log.track(round)).is_ok());
            let value = ring.pop().expect("a value was just pushed");
            assert_eq!(value.id, round);
            drop(value);
        }
        drop(ring);
        let all: Vec<u32> = (0..OPS as u32 / 10).collect();
        log.assert_dropped_once(&all, "after popping and dropping every value");
    });
}

#[test]
fn a_panicking_drop_still_drops_the_other_values() {
    run("dropping the buffer to finish", || {
        let log = DropLog::new();
        let mut ring = RingBuffer::with_capacity(4);
        assert!(ring.push(log.track(1)).is_ok());
        drop(ring.pop());
        for id in 2..=5 {
            let mut value = log.track(id);
            value.panic_on_drop = id == 3;
            assert!(ring.push(value).is_ok());
        }
        let result = panic::catch_unwind(AssertUnwindSafe(move || drop(ring)));
        assert!(
            result.is_err(),
            "the panic of value 3's drop must reach the caller"
        );
        log.assert_dropped_once(
            &[1, 2, 3, 4, 5],
            "after a drop of the buffer in which value 3's drop panicked",
        );
    });
}

/// A zero-sized type that counts its drops in a thread-local counter.
struct Token;

thread_local! {
    static TOKENS_DROPPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Drop for Token {
    fn drop(&mut self) {
        TOKENS_DROPPED.with(|n| n.set(n.get() + 1));
    }
}

#[test]
fn zero_sized_values_count_against_the_capacity() {
    run("a buffer of zero-sized values to work", || {
        let mut ring = RingBuffer::with_capacity(3);
        for i in 0..3 {
            assert!(
                ring.push(Token).is_ok(),
                "push {} of 3 zero-sized values",
                i + 1
            );
        }
        assert!(
            ring.is_full(),
            "3 zero-sized values fill a buffer of capacity 3"
        );
        assert!(
            ring.push(Token).is_err(),
            "a fourth zero-sized value is refused"
        );
        // The refused Token was dropped by the assert above: 1 drop so far.
        assert!(ring.pop().is_some());
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.iter().count(), 2, "iter over zero-sized values");
        drop(ring);
        assert_eq!(
            TOKENS_DROPPED.with(|n| n.get()),
            4,
            "4 zero-sized values were made, so 4 drops (no leak, none twice)"
        );
    });
}

#[test]
fn a_buffer_of_capacity_zero_refuses_every_push() {
    run("a buffer of capacity 0 to work", || {
        let mut ring = RingBuffer::with_capacity(0);
        assert_eq!(ring.capacity(), 0);
        assert!(
            ring.is_empty() && ring.is_full(),
            "capacity 0 is both empty and full"
        );
        assert_eq!(ring.push("x"), Err("x"), "push into capacity 0");
        assert_eq!(ring.pop(), None);
        assert_eq!(ring.peek(), None);
        assert_eq!(ring.iter().count(), 0);
    });
}

// ---------------------------------------------------------------- part (b)

#[test]
fn spsc_push_and_pop_on_one_thread_in_fifo_order() {
    run("spsc push and pop to return", || {
        let (mut tx, mut rx) = spsc(3);
        assert_eq!(tx.capacity(), 3);
        assert_eq!(rx.capacity(), 3);
        assert_eq!(rx.pop(), None, "pop on an empty queue");
        for i in 0..3 {
            assert_eq!(tx.push(i), Ok(()), "push {} of 3", i + 1);
        }
        assert_eq!(
            tx.push(3),
            Err(3),
            "push into a full queue gives the value back"
        );
        assert_eq!(rx.pop(), Some(0));
        assert_eq!(tx.push(3), Ok(()), "after a pop there is room again");
        assert_eq!(tx.push(4), Err(4), "full again");
        for expected in 1..4 {
            assert_eq!(rx.pop(), Some(expected), "values come out oldest first");
        }
        assert_eq!(rx.pop(), None);
    });
}

#[test]
fn spsc_wraps_around_many_times() {
    run("spsc pushes and pops to finish", || {
        for capacity in [1, 2, 3, 5] {
            let (mut tx, mut rx) = spsc(capacity);
            let mut model = VecDeque::new();
            for step in 0..OPS {
                if step % 5 < 3 {
                    let result = tx.push(step);
                    if model.len() < capacity {
                        assert_eq!(
                            result,
                            Ok(()),
                            "capacity {capacity}, step {step}: push with room"
                        );
                        model.push_back(step);
                    } else {
                        assert_eq!(
                            result,
                            Err(step),
                            "capacity {capacity}, step {step}: push when full"
                        );
                    }
                } else {
                    assert_eq!(
                        rx.pop(),
                        model.pop_front(),
                        "capacity {capacity}, step {step}: pop"
                    );
                }
            }
        }
    });
}

#[test]
fn spsc_capacity_zero_refuses_every_push() {
    run("an spsc queue of capacity 0 to work", || {
        let (mut tx, mut rx) = spsc::<u8>(0);
        assert_eq!(tx.push(1), Err(1));
        assert_eq!(rx.pop(), None);
    });
}

/// Sends `0..SENT` from a producer thread; the consumer, on this thread,
/// checks that every value arrives once and in order.
fn send_across_threads(mut tx: Producer<usize>, mut rx: Consumer<usize>) {
    let producer = thread::spawn(move || {
        for i in 0..SENT {
            let mut value = i;
            while let Err(back) = tx.push(value) {
                value = back;
                thread::yield_now();
            }
        }
    });
    let mut expected = 0;
    while expected < SENT {
        match rx.pop() {
            Some(value) => {
                assert_eq!(value, expected, "values must arrive once each and in order");
                expected += 1;
            }
            None => thread::yield_now(),
        }
    }
    producer.join().expect("the producer thread panicked");
    assert_eq!(rx.pop(), None, "nothing arrives after the last value");
}

#[test]
fn spsc_every_value_arrives_once_in_order_across_threads() {
    run(
        "a producer thread to send every value to this consumer",
        || {
            for capacity in [1, 7, 64] {
                let (tx, rx) = spsc(capacity);
                send_across_threads(tx, rx);
            }
        },
    );
}

/// Counts its drops in a static counter: it owns nothing, so a buggy queue
/// that drops one twice only miscounts. Only one test uses this counter.
static SPSC_DROPS: AtomicUsize = AtomicUsize::new(0);

struct Counted;

impl Drop for Counted {
    fn drop(&mut self) {
        SPSC_DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn spsc_values_left_in_the_queue_are_dropped_once_when_both_halves_are_gone() {
    run("the halves to be dropped", || {
        for consumer_first in [false, true] {
            SPSC_DROPS.store(0, Ordering::Relaxed);
            let (mut tx, mut rx) = spsc(4);
            for _ in 0..4 {
                assert!(tx.push(Counted).is_ok());
            }
            drop(rx.pop()); // one dropped by us
            assert!(tx.push(Counted).is_ok()); // wraps
            // The last half is dropped on another thread.
            let (first, last): (Box<dyn Send>, Box<dyn Send>) = if consumer_first {
                (Box::new(rx), Box::new(tx))
            } else {
                (Box::new(tx), Box::new(rx))
            };
            drop(first);
            assert_eq!(
                SPSC_DROPS.load(Ordering::Relaxed),
                1,
                "values stay while one half is alive"
            );
            thread::spawn(move || drop(last)).join().unwrap();
            assert_eq!(
                SPSC_DROPS.load(Ordering::Relaxed),
                5,
                "5 values were made: 1 popped and dropped, 4 dropped with the queue \
                 (consumer dropped first: {consumer_first})"
            );
        }
    });
}

#[test]
fn spsc_values_with_heap_data_cross_threads_intact() {
    run("strings to cross from one thread to the other", || {
        let (mut tx, mut rx) = spsc::<String>(5);
        let count = SENT / 5;
        let producer = thread::spawn(move || {
            for i in 0..count {
                let mut value = format!("message {i}");
                while let Err(back) = tx.push(value) {
                    value = back;
                    thread::yield_now();
                }
            }
        });
        let mut received = 0;
        while received < count {
            if let Some(text) = rx.pop() {
                assert_eq!(
                    text,
                    format!("message {received}"),
                    "strings arrive intact, in order"
                );
                received += 1;
            } else {
                thread::yield_now();
            }
        }
        producer.join().expect("the producer thread panicked");
    });
}
