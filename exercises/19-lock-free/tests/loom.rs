//! Loom model tests of the one-shot channel. `loom::model` runs each closure
//! many times, once for every interleaving of its threads and every value a
//! load may return under the memory orderings used, and fails if any run
//! panics or reads the slot without a happens-before edge from its write.
//!
//! These tests exist only in a loom build (the atomics in src/sync.rs are
//! then loom's), with their own target directory so that the flag does not
//! invalidate the ordinary build:
//!
//!     RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!         cargo test --release -p exercise-19 --test loom
#![cfg(loom)]

use exercise_19::oneshot;
use loom::thread;

// ANCHOR: model
#[test]
fn loom_the_value_sent_on_another_thread_is_received() {
    loom::model(|| {
        let (tx, rx) = oneshot();
        let sender = thread::spawn(move || tx.send(String::from("hello")));
        assert_eq!(rx.recv().as_deref(), Some("hello"));
        sender.join().unwrap();
    });
}
// ANCHOR_END: model

#[test]
fn loom_a_sender_dropped_on_another_thread_closes_the_channel() {
    loom::model(|| {
        let (tx, rx) = oneshot::<u32>();
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(rx.recv(), None);
        sender.join().unwrap();
    });
}

#[test]
fn loom_a_value_nobody_receives_is_dropped_by_the_last_half() {
    loom::model(|| {
        let (tx, rx) = oneshot();
        let sender = thread::spawn(move || tx.send(vec![1, 2, 3]));
        drop(rx);
        sender.join().unwrap();
        // loom fails the model if the Vec's memory or an Arc is leaked.
    });
}
