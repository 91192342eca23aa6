//! Exercise 19: two lock-free structures.
//!
//! - (a) [`oneshot`]: a channel that carries exactly one value from one
//!   thread to another, built from one atomic state byte and one slot.
//! - (b) [`Stack`]: a Treiber stack, a linked list whose head is swapped
//!   with compare-and-exchange, its popped nodes freed by crossbeam-epoch.

use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr;

use crossbeam_epoch::{self as epoch, Atomic, Owned};
use std::sync::atomic::Ordering as StdOrdering;

// Given: std's atomics, or loom's under `--cfg loom`. Use these (not
// std::sync::atomic) in the one-shot channel, so that the loom tests see
// every access.
mod sync;

use sync::{Arc, AtomicU8, Ordering, UnsafeCell};

// The states of the channel's `state` byte.
/// Nothing sent yet, and the sender is still alive.
const EMPTY: u8 = 0;
/// The value is in the slot.
const READY: u8 = 1;
/// The sender was dropped without sending.
const CLOSED: u8 = 2;
/// The receiver took the value out of the slot.
const TAKEN: u8 = 3;

/// The part both halves share.
struct Shared<T> {
    state: AtomicU8,
    slot: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: TODO: say why sharing `Shared<T>` between the two threads is sound
// when your code follows its protocol.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: Shared owns at most one T, which may be dropped on either thread.
unsafe impl<T: Send> Send for Shared<T> {}

/// Creates a one-shot channel: the [`Sender`] sends at most one value, the
/// [`Receiver`] receives it.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    todo!("one Shared in an Arc, a clone for each half")
}

/// The sending half of a one-shot channel.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of a one-shot channel.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` to the receiver. Never blocks. If the receiver is
    /// already gone, the value is dropped with the channel.
    pub fn send(self, value: T) {
        // TODO: write the value into the slot, then publish it with an
        // ordering that makes the write visible to the receiver.
        todo!()
    }
}

impl<T> Drop for Sender<T> {
    /// A sender dropped without sending closes the channel: the receiver's
    /// `recv` then returns `None` instead of waiting forever.
    fn drop(&mut self) {
        // TODO: close the channel, but only if nothing was sent.
        todo!()
    }
}

impl<T> Receiver<T> {
    /// Waits until the value has been sent and returns it, or returns `None`
    /// once the sender has been dropped without sending.
    pub fn recv(self) -> Option<T> {
        // TODO: wait (yield with sync::yield_now) until the state says READY
        // or CLOSED; take the value out of the slot exactly once.
        todo!()
    }
}

impl<T> Drop for Shared<T> {
    /// The last owner of the channel drops a value that was sent but never
    /// received.
    fn drop(&mut self) {
        // TODO: a value that was sent and never taken is dropped here.
    }
}

/// A lock-free stack (Treiber's): any number of threads push and pop at
/// once through a shared reference.
pub struct Stack<T> {
    head: Atomic<Node<T>>,
}

struct Node<T> {
    value: ManuallyDrop<T>,
    next: Atomic<Node<T>>,
}

impl<T> Default for Stack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Stack<T> {
    /// Creates an empty stack.
    pub fn new() -> Self {
        todo!()
    }

    /// Pushes `value` on top of the stack.
    pub fn push(&self, value: T) {
        // TODO: a new node whose next is the current head; swap it in with
        // compare_exchange, and try again if another thread got there first.
        todo!()
    }

    /// Removes the value on top of the stack and returns it, or `None` if
    /// the stack is empty.
    pub fn pop(&self) -> Option<T> {
        // TODO: pin, unlink the head node with compare_exchange, move its
        // value out, and leave freeing the node to the epoch collector.
        todo!()
    }

    /// Returns `true` if the stack holds no values (at the moment of the
    /// call; another thread may push or pop right after).
    pub fn is_empty(&self) -> bool {
        todo!()
    }
}

impl<T> Drop for Stack<T> {
    /// Drops every value still on the stack, and frees the nodes.
    fn drop(&mut self) {
        // TODO: no other thread can reach the stack now: free every node
        // and drop every value still in it.
    }
}
