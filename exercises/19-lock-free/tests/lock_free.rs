//! The tests of exercise 19. Values of `Counted` count their own drops, so
//! the tests see a value that is never dropped (a leak) or dropped twice.
//! Every test runs under testkit's watchdog: a receiver that waits forever
//! or a loop that never ends fails with a message instead of hanging.
//!
//! The loom model tests of the one-shot channel are in tests/loom.rs.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use exercise_19::{Stack, oneshot};

const LIMIT: Duration = Duration::from_secs(5);
/// Threads in the stress tests (more than this machine's cores, on purpose).
const THREADS: usize = 4;
/// Values each thread pushes in the stress tests.
const PER_THREAD: usize = 20_000;

/// A value that adds one to a counter when it is dropped. It owns no memory
/// (each test has its own `static` counter), so a value dropped twice shows
/// up in the count instead of freeing memory twice and crashing the run.
struct Counted {
    id: usize,
    drops: &'static AtomicUsize,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted(id: usize, drops: &'static AtomicUsize) -> Counted {
    Counted { id, drops }
}

#[track_caller]
fn assert_drops(drops: &AtomicUsize, expected: usize, what: &str) {
    let actual = drops.load(Ordering::SeqCst);
    let meaning = if actual < expected {
        "a value was never dropped (a leak)"
    } else {
        "a value was dropped twice, or dropped while still in the structure"
    };
    assert!(
        actual == expected,
        "{what}: expected {expected} drops so far, counted {actual}: {meaning}"
    );
}

// ---------------------------------------------------------------- oneshot

#[test]
fn recv_returns_the_value_sent_from_another_thread() {
    testkit::within(
        LIMIT,
        "recv returns the value sent on another thread",
        || {
            for round in 0..200 {
                let (tx, rx) = oneshot();
                let sender = thread::spawn(move || tx.send(format!("value {round}")));
                assert_eq!(
                    rx.recv().as_deref(),
                    Some(format!("value {round}").as_str()),
                    "recv must return exactly the value that was sent"
                );
                sender.join().expect("the sending thread panicked");
            }
        },
    );
}

#[test]
fn recv_waits_for_a_value_that_is_sent_later() {
    testkit::within(LIMIT, "recv waits until the value is sent", || {
        let (tx, rx) = oneshot();
        let receiver = thread::spawn(move || rx.recv());
        // The receiver is (almost certainly) waiting by now. On a correct
        // channel the timing does not matter: recv returns 7 either way.
        thread::sleep(Duration::from_millis(20));
        tx.send(7_u32);
        let got = receiver.join().expect("the receiving thread panicked");
        assert_eq!(
            got,
            Some(7),
            "recv returned before the value was sent: it must wait while \
             nothing has been sent and the sender is alive"
        );
    });
}

#[test]
fn recv_returns_none_when_the_sender_is_dropped_without_sending() {
    testkit::within(
        Duration::from_secs(1),
        "recv returns None at once when the sender was dropped without sending \
         (a dropped sender must close the channel)",
        || {
            let (tx, rx) = oneshot::<u32>();
            drop(tx);
            assert_eq!(rx.recv(), None, "nothing was sent, so recv returns None");
        },
    );
}

#[test]
fn recv_returns_none_when_the_sender_is_dropped_on_another_thread() {
    testkit::within(
        Duration::from_secs(1),
        "recv wakes up with None when the sender is dropped on another thread",
        || {
            let (tx, rx) = oneshot::<u32>();
            let receiver = thread::spawn(move || rx.recv());
            thread::sleep(Duration::from_millis(20));
            drop(tx);
            let got = receiver.join().expect("the receiving thread panicked");
            assert_eq!(got, None, "nothing was sent, so recv returns None");
        },
    );
}

#[test]
fn a_value_sent_but_never_received_is_dropped_once() {
    testkit::within(LIMIT, "dropping an unreceived value", || {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let drops = &DROPS;
        let (tx, rx) = oneshot();
        tx.send(counted(1, drops));
        assert_drops(drops, 0, "right after send, the value is in the channel");
        drop(rx);
        assert_drops(
            drops,
            1,
            "once both halves are gone, the value nobody received is dropped once",
        );

        // The other order: the receiver is gone before the value is sent.
        let (tx, rx) = oneshot();
        drop(rx);
        tx.send(counted(2, drops));
        assert_drops(
            drops,
            2,
            "a value sent to a dropped receiver is dropped once",
        );
    });
}

#[test]
fn a_received_value_is_dropped_once_by_its_new_owner() {
    testkit::within(LIMIT, "a received value is dropped exactly once", || {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let drops = &DROPS;
        let (tx, rx) = oneshot();
        tx.send(counted(3, drops));
        let value = rx.recv().expect("a value was sent");
        assert_eq!(value.id, 3);
        assert_drops(drops, 0, "recv moves the value out; it is not dropped yet");
        drop(value);
        assert_drops(drops, 1, "the channel must not drop a received value again");
    });
}

// ------------------------------------------------------------------ stack

#[test]
fn pop_returns_values_in_last_in_first_out_order() {
    testkit::within(LIMIT, "push and pop on one thread", || {
        let stack = Stack::new();
        assert!(stack.is_empty(), "a new stack is empty");
        assert_eq!(stack.pop(), None, "pop on an empty stack returns None");
        for i in 0..100 {
            stack.push(i);
        }
        assert!(!stack.is_empty(), "a stack with 100 values is not empty");
        for i in (0..100).rev() {
            assert_eq!(stack.pop(), Some(i), "pop returns the newest value first");
        }
        assert_eq!(stack.pop(), None, "after 100 pops the stack is empty again");
        assert!(stack.is_empty());
    });
}

/// Pops until the stack is empty and records each value in `seen`, failing
/// on a value popped twice.
#[track_caller]
fn drain_into(stack: &Stack<usize>, seen: &mut HashSet<usize>) {
    while let Some(value) = stack.pop() {
        assert!(seen.insert(value), "value {value} was popped twice");
    }
}

#[track_caller]
fn assert_all_seen(seen: &HashSet<usize>) {
    let total = THREADS * PER_THREAD;
    if seen.len() != total {
        let missing = (0..total).filter(|v| !seen.contains(v)).count();
        panic!(
            "{missing} of the {total} pushed values were never popped: \
             a push lost them when two threads changed the head at the same time"
        );
    }
}

#[test]
fn every_value_pushed_from_several_threads_is_popped_exactly_once() {
    testkit::within(LIMIT, "4 threads push 80,000 values in total", || {
        let stack = Arc::new(Stack::new());
        let pushers: Vec<_> = (0..THREADS)
            .map(|t| {
                let stack = Arc::clone(&stack);
                thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        stack.push(t * PER_THREAD + i);
                    }
                })
            })
            .collect();
        for pusher in pushers {
            pusher.join().expect("a pushing thread panicked");
        }
        let mut seen = HashSet::new();
        drain_into(&stack, &mut seen);
        assert_all_seen(&seen);
    });
}

#[test]
fn concurrent_pushes_and_pops_lose_and_duplicate_nothing() {
    testkit::within(LIMIT, "4 threads push and pop at the same time", || {
        let stack = Arc::new(Stack::new());
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let stack = Arc::clone(&stack);
                thread::spawn(move || {
                    // Push two, pop one: the stack grows while every thread
                    // keeps changing its head.
                    let mut popped = Vec::new();
                    for i in 0..PER_THREAD {
                        stack.push(t * PER_THREAD + i);
                        if i % 2 == 1
                            && let Some(value) = stack.pop()
                        {
                            popped.push(value);
                        }
                    }
                    popped
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for worker in workers {
            for value in worker.join().expect("a worker thread panicked") {
                assert!(seen.insert(value), "value {value} was popped twice");
            }
        }
        drain_into(&stack, &mut seen);
        assert_all_seen(&seen);
    });
}

#[test]
fn dropping_the_stack_drops_each_remaining_value_once() {
    testkit::within(LIMIT, "dropping a stack with values on it", || {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let drops = &DROPS;
        let stack = Stack::new();
        for i in 0..100 {
            stack.push(counted(i, drops));
        }
        for _ in 0..30 {
            drop(stack.pop().expect("the stack holds 100 values"));
        }
        assert_drops(drops, 30, "the 30 popped values were dropped by the test");
        drop(stack);
        assert_drops(
            drops,
            100,
            "dropping the stack must drop each of the 70 values still on it, once",
        );
    });
}

#[test]
fn values_popped_on_several_threads_are_dropped_once() {
    testkit::within(LIMIT, "counted values through a shared stack", || {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let drops = &DROPS;
        let stack = Arc::new(Stack::new());
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let stack = Arc::clone(&stack);
                thread::spawn(move || {
                    for i in 0..2_000 {
                        stack.push(counted(t * 2_000 + i, drops));
                        if i % 2 == 1 {
                            drop(stack.pop());
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("a worker thread panicked");
        }
        assert_drops(
            drops,
            THREADS * 1_000,
            "each popped value is dropped once by the thread that popped it",
        );
        drop(stack);
        assert_drops(
            drops,
            THREADS * 2_000,
            "dropping the stack drops the values left on it",
        );
    });
}
